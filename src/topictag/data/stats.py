"""Describing a corpus: labels by split, co-occurrence, lengths, keyword leakage."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from topictag.data.corpus import Record

_WORD = re.compile(r"\w+")


def corpus_stats(records: Sequence[Record]) -> dict[str, Any]:
    """Describe a corpus: labels by split and per paragraph, co-occurrence, lengths, articles."""
    splits = sorted({r.split or "none" for r in records})
    per_label: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(splits, 0))
    pairs: Counter[tuple[str, str]] = Counter()
    for r in records:
        labels = sorted(r.labels or ())
        for label in labels:
            per_label[label][r.split or "none"] += 1
        pairs.update((a, b) for i, a in enumerate(labels) for b in labels[i + 1 :])
    lengths = np.array([len(_WORD.findall(r.text)) for r in records] or [0])
    articles = Counter(r.article_id for r in records if r.article_id is not None)
    per_article = np.array(list(articles.values()) or [0])
    return {
        "paragraphs": len(records),
        "by_split": dict(Counter(r.split or "none" for r in records)),
        "labels": dict(sorted((k, dict(v)) for k, v in per_label.items())),
        "labels_per_paragraph": {
            str(k): v
            for k, v in sorted(
                Counter(len(r.labels) for r in records if r.labels is not None).items()
            )
        },
        "unlabeled": sum(r.labels is None for r in records),
        "cooccurrence": [{"labels": list(k), "count": v} for k, v in pairs.most_common()],
        "words": {f"p{q}": float(np.percentile(lengths, q)) for q in (0, 5, 25, 50, 75, 95, 100)},
        "keywords": label_keywords(records),
        "articles": len(articles),
        "paragraphs_per_article": {
            "min": int(per_article.min()),
            "median": float(np.median(per_article)),
            "max": int(per_article.max()),
        },
    }


def label_keywords(records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """For each label, the single word that best predicts it, and how well (F1).

    A label that one keyword predicts almost perfectly is a sign of templated text or of a
    labeling rule that is really a keyword search.
    """
    documents = [set(_WORD.findall(r.text.casefold())) for r in records]
    frequency = Counter(w for words in documents for w in words)
    result = {}
    for label in sorted({x for r in records for x in r.labels or ()}):
        having = [
            words for r, words in zip(records, documents, strict=True) if label in (r.labels or ())
        ]
        hits = Counter(w for words in having for w in words)
        word, f1 = max(
            ((w, 2 * n / (len(having) + frequency[w])) for w, n in hits.items()),
            key=lambda pair: (pair[1], pair[0]),
        )
        result[label] = {
            "word": word,
            "f1": f1,
            "precision": hits[word] / frequency[word],
            "recall": hits[word] / len(having),
        }
    return result


def format_stats(stats: dict[str, Any], *, top_pairs: int = 15) -> str:
    """Render :func:`corpus_stats` as Markdown tables."""
    splits = sorted(stats["by_split"])
    lines = [
        f"{stats['paragraphs']} paragraphs ("
        + ", ".join(f"{s}: {stats['by_split'][s]}" for s in splits)
        + f"), {stats['articles']} articles, {stats['unlabeled']} unlabeled",
        "",
        "| label | " + " | ".join(splits) + " | total |",
        "|---|" + "---|" * (len(splits) + 1),
    ]
    for label, counts in stats["labels"].items():
        cells = " | ".join(str(counts.get(s, 0)) for s in splits)
        lines.append(f"| `{label}` | {cells} | {sum(counts.values())} |")
    lines += ["", "| labels per paragraph | paragraphs |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in stats["labels_per_paragraph"].items()]
    lines += ["", "| co-occurring labels | paragraphs |", "|---|---|"]
    lines += [
        f"| `{p['labels'][0]}` + `{p['labels'][1]}` | {p['count']} |"
        for p in stats["cooccurrence"][:top_pairs]
    ]
    words = stats["words"]
    ppa = stats["paragraphs_per_article"]
    lines += [
        "",
        "| label | best single keyword | precision | recall | F1 |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| `{label}` | {k['word']} | {k['precision']:.2f} | {k['recall']:.2f} | {k['f1']:.2f} |"
        for label, k in stats["keywords"].items()
    ]
    lines += [
        "",
        "words per paragraph: " + ", ".join(f"{k} {v:g}" for k, v in words.items()),
        f"paragraphs per article: min {ppa['min']}, median {ppa['median']:g}, max {ppa['max']}",
    ]
    return "\n".join(lines)
