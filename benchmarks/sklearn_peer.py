"""The plain scikit-learn peer of the serving benchmark, as whole processes.

    python -m benchmarks.sklearn_peer train CORPUS.jsonl LABELS.tsv MODEL.joblib
    python -m benchmarks.sklearn_peer predict MODEL.joblib TEST.jsonl OUT.jsonl

TfidfVectorizer (sublinear tf) + one-vs-rest LinearSVC; a label is predicted when its decision
value is positive. The joblib file is our own, written by the train command.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import joblib
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    command, *paths = sys.argv[1:]
    if command == "train":
        corpus, label_file, model_path = paths
        with open(label_file, encoding="utf-8") as handle:
            keep = {line.split("\t")[0] for line in list(handle)[1:]}
        with open(corpus, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        train = [r for r in rows if r["split"] == "train"]
        binarizer = MultiLabelBinarizer()
        Y = binarizer.fit_transform([[x for x in r["labels"] if x in keep] for r in train])
        pipeline = make_pipeline(
            TfidfVectorizer(sublinear_tf=True), OneVsRestClassifier(LinearSVC())
        )
        pipeline.fit([r["text"] for r in train], Y)
        joblib.dump({"pipeline": pipeline, "labels": list(binarizer.classes_)}, model_path)
        return
    model_path, test, output = paths
    saved = joblib.load(model_path)
    with open(test, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    scores = saved["pipeline"].decision_function([r["text"] for r in rows])
    labels = np.asarray(saved["labels"])
    with open(output, "w", encoding="utf-8") as handle:
        for row, score in zip(rows, scores, strict=True):
            handle.write(json.dumps({"id": row["id"], "labels": labels[score > 0].tolist()}) + "\n")


if __name__ == "__main__":
    main()
