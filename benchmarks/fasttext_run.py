"""Train or apply a fastText classifier as a whole process (the benchmark's peer).

    python benchmarks/fasttext_run.py train TRAIN.txt MODEL.bin --loss ova \
        [--autotune VALID.txt --duration 150]
    python benchmarks/fasttext_run.py predict MODEL.bin TEST.jsonl OUT.jsonl --loss ova

The fixed configuration is the one in the accuracy issue: lr 0.5, wordNgrams 2, epoch 25,
dim 100; loss "ova" (one-vs-all, labels above 0.5) for multi-label data and "softmax" (the
top label) for single-label data.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import fasttext

_PUNCTUATION = re.compile(r"([^\w\s])")


def preprocess(text: str) -> str:
    """What fastText is given: lowercase, punctuation split off words, one line."""
    return " ".join(_PUNCTUATION.sub(r" \1 ", text.lower()).split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["train", "predict"])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--loss", choices=["ova", "softmax"], required=True)
    parser.add_argument("--autotune", help="validation file: run fastText's autotune")
    parser.add_argument("--duration", type=int, default=150)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command == "train":
        train, model_path = args.paths
        if args.autotune:
            # autotune aborts the whole search when one trial diverges ("Encountered NaN");
            # the search is then repeated with another seed, at most three times
            for seed in range(3):
                try:
                    model = fasttext.train_supervised(
                        input=train,
                        loss=args.loss,
                        autotuneValidationFile=args.autotune,
                        autotuneDuration=args.duration,
                        thread=args.threads,
                        seed=seed,
                        verbose=0,
                    )
                    break
                except RuntimeError as error:
                    print(f"fastText autotune failed ({error}); retrying", file=sys.stderr)
            else:
                raise SystemExit("fastText autotune failed three times")
        else:
            model = fasttext.train_supervised(
                input=train,
                lr=0.5,
                wordNgrams=2,
                epoch=25,
                dim=100,
                loss=args.loss,
                thread=args.threads,
                verbose=0,
            )
        model.save_model(model_path)
        return
    model_path, test, output = args.paths
    model = fasttext.load_model(model_path)
    with open(test, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts = [preprocess(row["text"]) for row in rows]
    if args.loss == "ova":
        labels, _ = model.predict(texts, k=-1, threshold=0.5)
    else:
        labels, _ = model.predict(texts, k=1)
    with open(output, "w", encoding="utf-8") as handle:
        for row, predicted in zip(rows, labels, strict=True):
            names = [x.removeprefix("__label__") for x in predicted]
            handle.write(json.dumps({"id": row["id"], "labels": names}) + "\n")


if __name__ == "__main__":
    main()
