"""The model card: ``MODEL_CARD.md``, rendered for people from a bundle's manifest."""

from __future__ import annotations

from typing import Any

from topictag.evaluate.report import METRIC_NOTES, headline_lines, interval_lines, per_label_table
from topictag.model.bundle import ModelData


def model_card(data: ModelData, name: str) -> str:
    """Render ``MODEL_CARD.md`` for a bundle from its manifest."""
    manifest = data.manifest
    training = manifest["training_data"]
    config = manifest["config"]
    metrics = manifest.get("metrics", {})
    files = ", ".join(f"`{f['name']}`" for f in training["files"])
    lines = [
        f"# Model card: {name}",
        "",
        "A topictag model: TF-IDF over word n-grams feeding one linear classifier per label, "
        "with per-label sigmoid calibration and per-label thresholds chosen on grouped "
        "out-of-fold scores of the training data.",
        "",
        "## Intended use",
        "",
        "Tagging news paragraphs in English with the topics below, for news analysis, media "
        "research and policy monitoring: as a first pass that people check, for counting and "
        "routing, not for decisions about individuals.",
        "",
        "## Labels and thresholds",
        "",
        f"Mode: **{data.mode}**"
        + (" (a paragraph may get several labels, or none)" if data.mode == "multi-label" else "")
        + (
            ". When no label passes its threshold, the most probable one is given."
            if data.at_least_one
            else "."
        ),
        "",
        "| label | training paragraphs | threshold |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{label}` | {training['label_counts'][label]} | {threshold:.3f} |"
        for label, threshold in zip(data.labels, data.thresholds, strict=True)
    ]
    if data.abstain is not None:
        lines += [
            "",
            "**No-topic head.** One more linear model, trained on the same features to tell "
            "paragraphs with no topic (page furniture, captions, sport, culture) from the rest. "
            f"A paragraph whose no-topic probability reaches {data.abstain.threshold:.3f} gets no "
            "label, whatever its label probabilities (the threshold maximizes micro F1 on "
            "out-of-fold scores). In articles, such paragraphs do not vote for the article's "
            "labels.",
        ]
    lines += [
        "",
        "## Training data",
        "",
        f"{files}: {training['train_rows']} training paragraphs, {training['test_rows']} held "
        f"out for testing (SHA-256 `{training['sha256'][:16]}...`).",
        "",
        "## Recipe",
        "",
        f"- features: word {tuple(config['features']['ngram_range'])}-grams, "
        f"min_df {config['features']['min_df']}, sublinear tf {config['features']['sublinear_tf']}"
        + (
            f", char_wb {tuple(config['features']['char_ngram_range'])}-grams"
            if config["features"].get("char_ngram_range")
            else ""
        ),
        f"- classifier: {config['model']['classifier']}, C = {config['model']['C']}, "
        f"class weight {config['model']['class_weight']}",
        f"- calibration and thresholds: {config['decision']['cv_folds']} grouped folds; seed "
        f"{config['seed']}",
        f"- vocabulary: {data.coef.shape[0]} features",
        *engine_lines(manifest.get("engine")),
        "",
        "## Evaluation",
        "",
    ]
    test = metrics.get("test")
    if test:
        lines += ["On the held-out test split:", "", *headline_lines(test)]
        if metrics.get("test_intervals"):
            lines += ["", "With 95% bootstrap intervals (resampling articles):", ""]
            lines += interval_lines(metrics["test_intervals"])
        lines += ["", "### Per label (test split)", "", *per_label_table(test)]
    else:
        lines.append("No test split was held out.")
    cv = metrics.get("cv")
    if cv:
        lines += [
            "",
            f"Grouped {cv['folds']}-fold cross-validation on the training split: micro F1 "
            f"{cv['micro_f1']['mean']:.3f} ± {cv['micro_f1']['std']:.3f}, macro F1 "
            f"{cv['macro_f1']['mean']:.3f} ± {cv['macro_f1']['std']:.3f}.",
        ]
    lines += [
        "",
        METRIC_NOTES,
        "",
        "## Limitations",
        "",
        "- A bag of n-grams: it sees words, not meaning; negation, irony and reported speech "
        "are not understood.",
        "- English only. Paragraphs with no known n-gram get no label and are flagged "
        "(`known_terms: 0`).",
        "- It knows only its training data's topics, era and register; text far from them "
        "(other domains, new names) gets less reliable scores.",
        "",
        "## How to use",
        "",
        "```",
        f'topictag classify --model {name} "Talks on the disputed islands resumed in Tokyo."',
        "```",
        "",
        "```python",
        "import topictag",
        f'model = topictag.load_model("{name}")',
        'model.predict(["Talks on the disputed islands resumed in Tokyo."])',
        "```",
        "",
        f"Versions: topictag {manifest['topictag_version']}, "
        + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def engine_lines(engine: dict[str, Any] | None) -> list[str]:
    """The recipe lines that say how a model was trained when not by the local engine."""
    if not engine:
        return []
    if engine.get("name") == "dask":
        return [
            f"- engine: Dask, {engine.get('workers')} worker(s); the same model as the local "
            "engine gives (arrays within 1e-6)"
        ]
    if engine.get("name") != "streaming":
        return [f"- engine: {engine.get('name')}"]
    dask = engine.get("dask")
    where = f", Dask, {dask['shards']} shards averaged after each pass" if dask else ""
    return [
        f"- engine: **streaming** (out of core){where}: `{engine['classifier']}` per label "
        f"in place of {engine['mapped_from']}, alpha {engine['alpha']:.3g} "
        f"(= {engine['alpha_rule']}), {engine['passes']} passes in chunks of "
        f"{engine['chunk_rows']} rows",
        f"- calibration and thresholds (streaming): {engine['held_out']['calibration_rows']} "
        f"held-out rows ({engine['held_out']['share']:g} of the paragraphs, by "
        f"{engine['held_out']['chosen_by']}), scored by {engine['held_out']['calibration_model']}",
    ]
