"""The plain scikit-learn pipeline, the peer of the benchmarks, as whole processes.

    python -m benchmarks.sklearn_peer train CORPUS.jsonl LABELS.tsv|- MODEL.joblib \
        [--ngrams N] [--min-df M]
    python -m benchmarks.sklearn_peer predict MODEL.joblib TEST.jsonl OUT.jsonl

TfidfVectorizer(sublinear_tf=True, ngram_range=(1, N), min_df=M) + LinearSVC with
scikit-learn's defaults, what one writes by hand: on single-label data (every training row has
one label) LinearSVC over the classes, the highest decision value predicted; otherwise
one-vs-rest LinearSVC, a label predicted when its decision value is positive (what ``predict``
does). N and M are 1 by default (`make bench`); the serving benchmark uses the pipeline a user
would typically write, N = 2 and M = 2 (and N = 1 as a second row). ``-`` for LABELS keeps every
label. Trained on the rows whose split is not ``test``. The joblib file is our own, written by
the train command.
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
    parser.add_argument("--ngrams", type=int, default=1)
    parser.add_argument("--min-df", type=int, default=1)
    args = parser.parse_args()
    if args.command == "train":
        corpus, label_file, model_path = args.paths
        keep = None
        if label_file != "-":
            with open(label_file, encoding="utf-8") as handle:
                keep = {line.split("\t")[0] for line in list(handle)[1:]}
        with open(corpus, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        train = [r for r in rows if r.get("split") != "test"]
        labels = [[x for x in r["labels"] if keep is None or x in keep] for r in train]
        texts = [r["text"] for r in train]
        single = all(len(x) == 1 for x in labels)
        vectorizer = TfidfVectorizer(
            sublinear_tf=True, ngram_range=(1, args.ngrams), min_df=args.min_df
        )
        if single:
            pipeline = make_pipeline(vectorizer, LinearSVC())
            pipeline.fit(texts, [x[0] for x in labels])
            classes = list(pipeline.classes_)
        else:
            binarizer = MultiLabelBinarizer()
            Y = binarizer.fit_transform(labels)
            pipeline = make_pipeline(vectorizer, OneVsRestClassifier(LinearSVC()))
            pipeline.fit(texts, Y)
            classes = list(binarizer.classes_)
        joblib.dump({"pipeline": pipeline, "labels": classes, "single": single}, model_path)
        return
    model_path, test, output = args.paths
    saved = joblib.load(model_path)
    with open(test, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    scores = np.asarray(saved["pipeline"].decision_function([r["text"] for r in rows]))
    labels = np.asarray(saved["labels"])
    if scores.ndim == 1:  # two classes: one column, the second class's side
        scores = np.stack([-scores, scores], axis=1)
    with open(output, "w", encoding="utf-8") as handle:
        for row, score in zip(rows, scores, strict=True):
            chosen = [labels[score.argmax()]] if saved.get("single") else labels[score > 0]
            handle.write(json.dumps({"id": row["id"], "labels": list(map(str, chosen))}) + "\n")


if __name__ == "__main__":
    main()
