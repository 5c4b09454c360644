"""Auditing a bundle someone handed you, and upgrading bundles of the first format version."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
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
    read_member_file,
)
from topictag.model.bundle import (
    CARD,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    WEIGHTS,
    ModelData,
    load_bundle,
)
from topictag.model.features import View
from topictag.model.writing import save_bundle


@dataclass
class Audit:
    """What :func:`verify_bundle` checked, for a person to read."""

    path: Path
    checks: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Return the audit as lines of text."""
        return "\n".join([f"{self.path}: a valid topictag bundle", *self.checks]) + "\n"


def verify_bundle(path: str | Path) -> Audit:
    """Run the whole load-time audit of a bundle and say what was checked.

    Raises
    ------
    ModelError
        At the first problem, as :func:`~topictag.model.bundle.load_bundle` reports it.
    """
    path = Path(path)
    data = load_bundle(path)
    from topictag.model.inference import Model

    Model(data)  # compiles the analyzers: a view that cannot be served fails here
    manifest = data.manifest
    arrays = data.arrays()
    return Audit(
        path,
        [
            f"  format: {FORMAT} version {manifest['format_version']}, "
            "model.json follows the shipped schema",
            f"  integrity: the manifest's hash matches ({manifest['integrity']['sha256'][:16]}...)",
            f"  weights: {WEIGHTS} matches its SHA-256 ({manifest['weights']['sha256'][:16]}...)",
            f"  arrays: {len(arrays)} members, names, dtypes and shapes as the manifest implies, "
            "all finite",
            f"  model: {data.mode}, {len(data.labels)} labels, {data.coef.shape[0]} features, "
            f"{len(data.views)} view(s) with safe token patterns",
            "  nothing in the bundle is executable: no pickles, plain arrays and JSON only",
        ],
    )


def upgrade_bundle(path: str | Path) -> Path:
    """Convert a format-version-1 bundle in place to the current format.

    Version 1 stored the thresholds twice (``model.json`` and ``weights.npz``) and hashed only
    the weights. The upgrade checks the weights hash and that both copies of the thresholds
    agree, then writes the bundle anew (atomically), keeping its model card.

    Raises
    ------
    ModelError
        If the folder is not a version-1 bundle, or fails the version-1 checks.
    """
    path = Path(path)
    try:
        with open_folder(path) as folder:
            raw = read_member_file(folder, MANIFEST, MAX_MANIFEST_BYTES)
            weights = read_member_file(folder, WEIGHTS, MAX_WEIGHTS_BYTES)
            try:
                card: bytes | None = read_member_file(folder, CARD, MAX_MANIFEST_BYTES)
            except FileNotFoundError:
                card = None
    except FileNotFoundError:
        raise ModelError(f"{path}: not a model bundle (no {MANIFEST} or {WEIGHTS})") from None
    except ArchiveProblem as problem:
        raise ModelError(f"{path}/{problem.file}: {problem.problem}") from None
    where = path / MANIFEST
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{where}: unreadable manifest ({str(exc)[:80]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{where}: not a topictag model manifest")
    if manifest.get("format_version") == FORMAT_VERSION:
        raise ModelError(f"{where}: already format version {FORMAT_VERSION}; nothing to do")
    if manifest.get("format_version") != 1:
        raise ModelError(f"{where}: format_version: not a version-1 bundle")
    if hashlib.sha256(weights).hexdigest() != (manifest.get("weights") or {}).get("sha256"):
        raise ModelError(f"{path / WEIGHTS}: weights do not match the manifest's SHA-256")
    try:
        data = _version1(manifest, weights)
    except (ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{where}: malformed version-1 bundle ({exc})") from None
    save_bundle(data, path, force=True, card=None if card is None else card.decode("utf-8"))
    load_bundle(path)  # the result passes the whole audit
    return path


def _version1(manifest: dict[str, Any], weights: bytes) -> ModelData:
    with np.load(io.BytesIO(weights), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    views = [View.from_dict(v) for v in manifest["views"]]
    vocabularies = []
    for i in range(len(views)):
        text = arrays[f"vocabulary_{i}"].tobytes().decode("utf-8")
        vocabularies.append(text.split("\n") if text else [])
    labels = [str(label) for label in manifest["labels"]]
    listed = [float(manifest["thresholds"][label]) for label in labels]
    if not np.array_equal(np.asarray(listed), arrays["thresholds"]):
        raise ValueError("the thresholds in model.json and weights.npz differ")
    return ModelData(
        labels=labels,
        mode=str(manifest["mode"]),
        views=views,
        vocabularies=vocabularies,
        idfs=[arrays[f"idf_{i}"] for i in range(len(views))],
        coef=arrays["coef"],
        intercept=arrays["intercept"],
        calibration=arrays["calibration"],
        thresholds=arrays["thresholds"],
        at_least_one=bool(manifest["at_least_one"]),
        manifest=manifest,
    )
