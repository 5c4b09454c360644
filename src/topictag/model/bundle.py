"""Model bundles on disk: a pickle-free weights file, a JSON manifest and a model card.

A bundle is a folder::

    models/NAME/
        weights.npz     arrays only: vocabularies, idf, coefficients, calibration, thresholds
        model.json      format version, labels, mode, views, config, data hash, versions,
                        metrics, the weights' hash and the manifest's own integrity hash
        MODEL_CARD.md   for people

Every number the model computes with has one source, ``weights.npz``; ``model.json`` describes
the arrays and is checked against the JSON Schema shipped in the package before anything else
is trusted (:mod:`topictag.model.manifest`). Loading opens the folder once and reads both files
through it, audits the archive's members before decompressing them, and refuses a manifest or
weights file that does not match its hash (:mod:`topictag.model.archive`); nothing in a bundle
is ever executed. Writing them is :mod:`topictag.model.writing`'s, finding them by name
:mod:`topictag.model.catalog`'s.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topictag.errors import ModelError
from topictag.model.archive import (
    MAX_MANIFEST_BYTES,
    MAX_WEIGHTS_BYTES,
    ArchiveProblem,
    open_folder,
    read_arrays,
    read_member_file,
)
from topictag.model.features import View, check_token_pattern
from topictag.model.manifest import ManifestProblem, check_manifest, integrity_of

FORMAT = "topictag-bundle"
FORMAT_VERSION = 2
WEIGHTS = "weights.npz"
MANIFEST = "model.json"
CARD = "MODEL_CARD.md"
DEFAULT_MODEL = "news-topics"
_FLOATS = ("float64", "float32", "float16")


@dataclass(frozen=True)
class Abstain:
    """The no-topic head: one more linear model, whose calibrated probability gates labels."""

    coef: np.ndarray  # (n_features,)
    intercept: float
    calibration: np.ndarray  # (2,): sigmoid parameters a, b
    threshold: float  # no label when the no-topic probability reaches this


@dataclass
class ModelData:
    """Everything needed to classify, as plain arrays and JSON values.

    ``coef`` has one row per feature (all views stacked in order) and one column per label.
    """

    labels: list[str]
    mode: str
    views: list[View]
    vocabularies: list[list[str]]
    idfs: list[np.ndarray]
    coef: np.ndarray
    intercept: np.ndarray
    calibration: np.ndarray  # (n_labels, 2): sigmoid parameters a, b
    thresholds: np.ndarray
    at_least_one: bool
    manifest: dict[str, Any] = field(default_factory=dict)
    abstain: Abstain | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the arrays stored in ``weights.npz``."""
        out: dict[str, np.ndarray] = {}
        for i, (vocab, idf) in enumerate(zip(self.vocabularies, self.idfs, strict=True)):
            out[f"vocabulary_{i}"] = np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8)
            out[f"idf_{i}"] = np.asarray(idf, dtype=np.float64)
        out["coef"] = np.ascontiguousarray(self.coef)
        out["intercept"] = np.asarray(self.intercept, dtype=np.float64)
        out["calibration"] = np.asarray(self.calibration, dtype=np.float64)
        out["thresholds"] = np.asarray(self.thresholds, dtype=np.float64)
        if self.abstain is not None:
            out["abstain_coef"] = np.asarray(self.abstain.coef, dtype=self.coef.dtype)
            out["abstain_intercept"] = np.asarray([self.abstain.intercept], dtype=np.float64)
            out["abstain_calibration"] = np.asarray(self.abstain.calibration, dtype=np.float64)
            out["abstain_threshold"] = np.asarray([self.abstain.threshold], dtype=np.float64)
        return out


def load_bundle(path: str | Path) -> ModelData:
    """Read, audit and verify a bundle folder.

    The manifest is checked against the schema and its integrity hash, the weights against
    theirs, and every array's name, dtype and shape against the manifest, before the model is
    built.

    Raises
    ------
    ModelError
        ``<folder>/<file>: <field>: <what is wrong>``, if the folder is missing or not a bundle,
        the format version is not this one, or anything in it fails the audit.
    """
    path = Path(path)
    try:
        manifest, weights = _read_both(path)
    except FileNotFoundError:
        raise ModelError(f"{path / WEIGHTS}: missing (the bundle is incomplete)") from None
    except ArchiveProblem as problem:
        where = problem.file if problem.file.startswith(str(path)) else f"{path}/{problem.file}"
        raise ModelError(f"{where}: {problem.problem}") from None
    if hashlib.sha256(weights).hexdigest() != manifest["weights"]["sha256"]:
        raise ModelError(
            f"{path / WEIGHTS}: weights do not match the manifest's SHA-256 "
            "(the file is corrupt, truncated or was edited)"
        )
    try:
        return _model_from(manifest, weights)
    except ArchiveProblem as problem:
        raise ModelError(f"{path}/{problem.file}: {problem.problem}") from None
    except ManifestProblem as problem:
        raise ModelError(f"{path / MANIFEST}: {problem}") from None


def _read_both(path: Path, attempts: int = 5) -> tuple[dict[str, Any], bytes]:
    """Read the manifest and the weights through one folder descriptor.

    A retrain swaps a new folder in and removes the old one: a reader that opened the old one
    may find its files gone, and then reads again from the folder now at ``path``.
    """
    for attempt in range(attempts):
        with open_folder(path) as folder:
            try:
                return _read_manifest(path, folder), read_member_file(
                    folder, WEIGHTS, MAX_WEIGHTS_BYTES
                )
            except (FileNotFoundError, ModelError):
                if attempt + 1 == attempts or not _swapped(path, folder):
                    raise
    raise AssertionError("unreachable")


def _swapped(path: Path, folder: int) -> bool:
    """Whether the folder open as ``folder`` is no longer the one at ``path``."""
    try:
        mine, now = os.fstat(folder), os.stat(path)
    except OSError:
        return True
    return (mine.st_dev, mine.st_ino) != (now.st_dev, now.st_ino)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Return a bundle's checked ``model.json`` without reading its weights."""
    path = Path(path)
    try:
        with open_folder(path) as folder:
            return _read_manifest(path, folder)
    except ArchiveProblem as problem:
        raise ModelError(f"{path}/{problem.file}: {problem.problem}") from None


def _read_manifest(path: Path, folder: int) -> dict[str, Any]:
    where = path / MANIFEST
    try:
        raw = read_member_file(folder, MANIFEST, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise ModelError(f"{path}: not a model bundle (no {MANIFEST})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{where}: unreadable manifest ({str(exc)[:80]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{where}: not a topictag model manifest")
    version = manifest.get("format_version")
    if version == 1:
        raise ModelError(
            f"{where}: bundle format version 1 (topictag 0.1); convert it once with "
            f"`topictag models upgrade {path}`"
        )
    if version != FORMAT_VERSION:
        raise ModelError(
            f"{where}: format_version: {json.dumps(version)[:20]} is not supported (this "
            f"topictag reads version {FORMAT_VERSION})"
        )
    try:
        check_manifest(manifest)
    except ManifestProblem as problem:
        raise ModelError(f"{where}: {problem}") from None
    if integrity_of(manifest)["sha256"] != manifest["integrity"]["sha256"]:
        raise ModelError(
            f"{where}: integrity: the manifest does not match its hash (it was edited or is "
            "corrupt)"
        )
    for i, view in enumerate(manifest["views"]):
        lo, hi = view["ngram_range"]
        if lo > hi:
            raise ModelError(f"{where}: views.{i}.ngram_range: {lo} is more than {hi}")
        if view["analyzer"] == "word":
            try:
                check_token_pattern(view["token_pattern"])
            except ValueError as exc:
                raise ModelError(f"{where}: views.{i}.token_pattern: {exc}") from None
    return manifest


def _model_from(manifest: dict[str, Any], weights: bytes) -> ModelData:
    """Audit the archive against the manifest, then build the model."""
    views = [View.from_dict(v) for v in manifest["views"]]
    labels = list(manifest["labels"])
    n_labels, n_features = len(labels), int(manifest["weights"]["n_features"])
    coef_dtype = manifest["weights"]["dtype"]
    names = [f"{kind}_{i}" for i in range(len(views)) for kind in ("vocabulary", "idf")]
    names += ["coef", "intercept", "calibration", "thresholds"]
    if "abstain" in manifest:
        names += ["abstain_coef", "abstain_intercept", "abstain_calibration", "abstain_threshold"]
    vocabularies: dict[str, list[str]] = {}

    def check(
        name: str, dtype: np.dtype, shape: tuple[int, ...], done: dict[str, np.ndarray]
    ) -> str | None:
        if name.startswith("vocabulary_"):
            return None if dtype == np.uint8 and len(shape) == 1 else f"{dtype}{shape}: not bytes"
        for earlier, array in done.items():  # decode each vocabulary once, as soon as it is read
            if earlier.startswith("vocabulary_") and earlier not in vocabularies:
                text = array.tobytes().decode("utf-8")
                vocabularies[earlier] = text.split("\n") if text else []
        shapes: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
            "coef": ((n_features, n_labels), (coef_dtype,)),
            "abstain_coef": ((n_features,), (coef_dtype,)),
            "calibration": ((n_labels, 2), ("float64",)),
            "abstain_calibration": ((2,), ("float64",)),
            "abstain_intercept": ((1,), ("float64",)),
            "abstain_threshold": ((1,), ("float64",)),
        }
        expected: tuple[int, ...]
        wanted: tuple[str, ...]
        if name.startswith("idf_"):
            expected, wanted = (len(vocabularies[f"vocabulary_{name[4:]}"]),), ("float64",)
        else:  # intercept and thresholds: one number per label
            expected, wanted = shapes.get(name, ((n_labels,), ("float64",)))
        if str(dtype) not in wanted or dtype.byteorder == ">":
            return f"dtype {dtype}, expected {' or '.join(wanted)}"
        if shape != expected:
            return f"shape {shape}, expected {expected}"
        return None

    try:
        arrays = read_arrays(weights, names, check)
    except UnicodeDecodeError:
        raise ArchiveProblem(WEIGHTS, "a vocabulary is not UTF-8 text") from None
    vocabs = [vocabularies[f"vocabulary_{i}"] for i in range(len(views))]
    if sum(len(v) for v in vocabs) != n_features:
        raise ManifestProblem("weights.n_features", "does not match the vocabularies' sizes")
    for name in names:
        values = arrays[name]
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ArchiveProblem(WEIGHTS, f"{name}: holds NaN or infinite values")
    abstain = None
    if "abstain" in manifest:
        abstain = Abstain(
            coef=arrays["abstain_coef"],
            intercept=float(arrays["abstain_intercept"][0]),
            calibration=arrays["abstain_calibration"],
            threshold=float(arrays["abstain_threshold"][0]),
        )
    return ModelData(
        labels=labels,
        mode=str(manifest["mode"]),
        views=views,
        vocabularies=vocabs,
        idfs=[arrays[f"idf_{i}"] for i in range(len(views))],
        coef=arrays["coef"],
        intercept=arrays["intercept"],
        calibration=arrays["calibration"],
        thresholds=arrays["thresholds"],
        at_least_one=bool(manifest["at_least_one"]),
        manifest=manifest,
        abstain=abstain,
    )
