"""What a bundle says about itself: the value ``topictag models show`` renders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topictag.model.inference import Model, load_model


@dataclass(frozen=True)
class ModelSummary:
    """A model's mode, labels and thresholds, training data, test metrics and versions.

    ``test`` holds ``micro_f1``, ``macro_f1`` and ``subset_accuracy`` when the model was
    evaluated on a test split while training, and is None otherwise. ``manifest`` is the whole
    ``model.json``.
    """

    path: Path | None
    mode: str
    at_least_one: bool
    n_features: int
    thresholds: dict[str, float]
    training_files: list[str]
    training_sha256: str
    train_rows: int
    test_rows: int
    test: dict[str, float] | None
    versions: dict[str, str]
    manifest: dict[str, Any]


def describe_model(model: Model | str | Path) -> ModelSummary:
    """Summarize a loaded model, or the bundle at a folder or name.

    Raises
    ------
    ModelError
        If there is no valid bundle there.
    """
    loaded = model if isinstance(model, Model) else load_model(model)
    manifest = loaded.manifest
    training = manifest["training_data"]
    test = (manifest.get("metrics") or {}).get("test")
    return ModelSummary(
        path=loaded.path,
        mode=manifest["mode"],
        at_least_one=bool(manifest["at_least_one"]),
        n_features=int(manifest["weights"]["n_features"]),
        thresholds=dict(zip(loaded.labels, loaded.thresholds.tolist(), strict=True)),
        training_files=[f["name"] for f in training["files"]],
        training_sha256=training["sha256"],
        train_rows=int(training["train_rows"]),
        test_rows=int(training["test_rows"]),
        test=None
        if not test
        else {
            "micro_f1": test["micro"]["f1"],
            "macro_f1": test["macro"]["f1"],
            "subset_accuracy": test["subset_accuracy"],
        },
        versions={**manifest["versions"], "topictag": manifest["topictag_version"]},
        manifest=manifest,
    )
