"""The plain scikit-learn peer of the serving benchmark, as whole processes.

    python -m benchmarks.sklearn_peer train CORPUS.jsonl LABELS.tsv MODEL.joblib [--ngrams N]
    python -m benchmarks.sklearn_peer predict MODEL.joblib TEST.jsonl OUT.jsonl

The pipeline a user would typically write: TfidfVectorizer(sublinear_tf=True,
ngram_range=(1, N), min_df=2) + one-vs-rest LinearSVC, ``predict``, label names only (N is 2
by default; 1 gives the unigram row). The joblib file is our own, written by the train command.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    import joblib
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["train", "predict"])
    parser.add_argument("paths", nargs=3)
    parser.add_argument("--ngrams", type=int, default=2)
    args = parser.parse_args()
    if args.command == "train":
        corpus, label_file, model_path = args.paths
        with open(label_file, encoding="utf-8") as handle:
            keep = {line.split("\t")[0] for line in list(handle)[1:]}
        with open(corpus, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        train = [r for r in rows if r["split"] == "train"]
        binarizer = MultiLabelBinarizer()
        Y = binarizer.fit_transform([[x for x in r["labels"] if x in keep] for r in train])
        pipeline = make_pipeline(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, args.ngrams), min_df=2),
            OneVsRestClassifier(LinearSVC()),
        )
        pipeline.fit([r["text"] for r in train], Y)
        joblib.dump({"pipeline": pipeline, "labels": list(binarizer.classes_)}, model_path)
        return
    model_path, test, output = args.paths
    saved = joblib.load(model_path)
    with open(test, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    predicted = saved["pipeline"].predict([r["text"] for r in rows])
    labels = np.asarray(saved["labels"])
    with open(output, "w", encoding="utf-8") as handle:
        for row, chosen in zip(rows, predicted, strict=True):
            names = labels[np.asarray(chosen, dtype=bool)].tolist()
            handle.write(json.dumps({"id": row["id"], "labels": names}) + "\n")


if __name__ == "__main__":
    main()
