"""The app a user would write instead of ``serve --http``: scikit-learn behind Starlette.

    python -m benchmarks.http_reference PORT

Unigram TfidfVectorizer (sublinear tf) + one-vs-rest LinearSVC, trained at start-up on the
bundled corpus; ``POST /v1/classify`` with ``{"texts": [...]}`` answers each text's labels (a
positive decision value) and every label's decision value. uvicorn's defaults: one process,
uvloop and httptools when installed (they are: the same environment as topictag's).
"""

from __future__ import annotations

import json
import sys

from benchmarks.common import ROOT

CORPUS = ROOT / "datasets" / "news-paragraphs" / "paragraphs.jsonl"


def build_app():  # type: ignore[no-untyped-def]
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    binarizer = MultiLabelBinarizer()
    y = binarizer.fit_transform([r["labels"] for r in rows])
    pipeline = make_pipeline(TfidfVectorizer(sublinear_tf=True), OneVsRestClassifier(LinearSVC()))
    pipeline.fit([r["text"] for r in rows], y)
    labels = np.asarray(binarizer.classes_)
    names = labels.tolist()

    async def classify(request: Request) -> JSONResponse:
        body = await request.json()
        scores = pipeline.decision_function(body["texts"])
        results = [
            {
                "labels": labels[row > 0].tolist(),
                "scores": dict(zip(names, row.tolist(), strict=True)),
            }
            for row in np.atleast_2d(scores)
        ]
        return JSONResponse({"results": results})

    return Starlette(routes=[Route("/v1/classify", classify, methods=["POST"])])


def main() -> None:
    import uvicorn

    uvicorn.run(build_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
