"""Scoring models: metrics, bootstrap intervals, evaluation, reports and the model card.

May import scikit-learn (metrics) and matplotlib (the HTML report's figures).
"""
