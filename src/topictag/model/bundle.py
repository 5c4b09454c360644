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
is ever executed. Bundles are written to a temporary sibling folder and swapped in, so a crash
leaves the old bundle or the new one, whole. Writing the same model twice gives the same bytes:
no timestamps, no absolute paths.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topictag.data.files import write_synced
from topictag.data.folders import atomic_folder, check_output_folder, describe_existing
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
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_OWNED = (
    "format",
    "format_version",
    "mode",
    "labels",
    "thresholds",
    "at_least_one",
    "views",
    "weights",
    "integrity",
    "abstain",
)  # fields save_bundle writes itself
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

    def full_manifest(self) -> dict[str, Any]:
        """Return the ``model.json`` that :func:`save_bundle` writes (weights hash included)."""
        return _complete_manifest(self, _npz_bytes(self.arrays()))


def save_bundle(
    model: ModelData, path: str | Path, *, force: bool = False, card: str | None = None
) -> Path:
    """Write a bundle folder atomically; ``model`` is not changed.

    The bundle is staged in a hidden sibling folder and swapped in whole (see
    :func:`topictag.data.files.atomic_folder`): created only if nothing is there, race
    included, or exchanged with the bundle that is there when ``force`` is given.

    Parameters
    ----------
    model : ModelData
    path : path
        The bundle folder to create.
    force : bool
        Replace an existing bundle (or an empty folder). Nothing else is ever replaced.
    card : str, optional
        The Markdown text of ``MODEL_CARD.md`` (see :func:`topictag.train.save_model`, which
        renders it); without it the bundle has no card.

    Raises
    ------
    ModelError
        If something is at ``path`` and ``force`` is false, or it is not a bundle.
    OutputError
        If the folder cannot be written.
    """
    path = Path(path)
    may_replace = bundle_replacement(path, force=force)
    check_output_folder(path, may_replace)
    weights = _npz_bytes(model.arrays())
    manifest = _complete_manifest(model, weights)
    with atomic_folder(path, may_replace) as staging:
        _write_synced(staging / WEIGHTS, weights)
        _write_synced(staging / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        if card is not None:
            _write_synced(staging / CARD, card.encode())
        os.chmod(staging, 0o755)
    return path


def bundle_replacement(path: str | Path, *, force: bool) -> Callable[[Path], None]:
    """Return the check :func:`save_bundle` makes of what is at ``path`` before replacing it.

    With ``force``, a topictag bundle (its ``model.json`` parses and says so, whatever its
    format version or the state of its weights) or an empty folder may be replaced; nothing
    else ever is, and nothing at all without ``force``. The check raises
    :class:`~topictag.errors.ModelError` with one line saying what is there.
    """
    shown = Path(path)

    def check(existing: Path) -> None:
        kind = _bundle_kind(existing)
        if kind is None:
            raise ModelError(
                f"{shown}: {describe_existing(existing)} is there, not a model bundle; "
                "refusing to replace it (--force replaces only a bundle or an empty folder)"
            )
        if not force:
            what = "a model already exists" if kind == "bundle" else "an empty folder is"
            raise ModelError(f"{shown}: {what} there (use --force to replace it)")

    return check


def check_bundle_target(path: str | Path, *, force: bool = False) -> None:
    """Check before training that a bundle can be written at ``path``; raise if not.

    Raises
    ------
    ModelError
        If something is there that :func:`save_bundle` would refuse to replace.
    OutputError
        If the folder cannot be written.
    """
    check_output_folder(path, bundle_replacement(path, force=force))


def _bundle_kind(path: Path) -> str | None:
    """Return "bundle" or "empty" for a folder ``save_bundle`` may replace, else None."""
    if path.is_symlink() or not path.is_dir():
        return None
    try:
        if not any(os.scandir(path)):
            return "empty"
        with open_folder(path) as folder:
            raw = read_member_file(folder, MANIFEST, MAX_MANIFEST_BYTES)
        manifest = json.loads(raw.decode("utf-8"))
    except (OSError, ArchiveProblem, ValueError, RecursionError):
        return None
    return "bundle" if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


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


def resolve_model(name_or_path: str | Path) -> Path:
    """Find a bundle folder from a path or a name.

    A name is looked up in ``$TOPICTAG_MODELS`` (default ``./models``), then among the models
    shipped inside the package (the default model, for pip installs).
    """
    candidate = Path(name_or_path)
    if candidate.is_dir() or os.sep in str(name_or_path) or str(name_or_path).startswith("."):
        return candidate
    folder = Path(os.environ.get("TOPICTAG_MODELS", "models")) / str(name_or_path)
    if folder.is_dir():
        return folder
    shipped = Path(__file__).parents[1] / "default_model"
    if str(name_or_path) == DEFAULT_MODEL and (shipped / MANIFEST).is_file():
        return shipped
    return folder


@dataclass(frozen=True)
class BundleInfo:
    """One entry of :func:`list_bundles`: a bundle's name, place and headline numbers."""

    name: str
    path: Path
    mode: str | None = None
    labels: int | None = None
    test_micro_f1: float | None = None
    test_macro_f1: float | None = None
    packaged: bool = False  # the default model shipped inside the package
    problem: str | None = None  # why the manifest could not be read, if it could not


def list_bundles(folder: str | Path | None = None) -> list[BundleInfo]:
    """List the bundles in a models folder, and the packaged default model.

    Parameters
    ----------
    folder : path, optional
        The folder to list [default: ``$TOPICTAG_MODELS``, else ``./models``]. Hidden folders
        (a bundle being written) are not listed.

    Returns
    -------
    list of BundleInfo
        Sorted by name; the packaged default model comes last, unless the folder has a bundle
        of the same name (which then takes precedence, as in :func:`resolve_model`).
    """
    root = Path(folder if folder is not None else os.environ.get("TOPICTAG_MODELS", "models"))
    found = (
        sorted(p.parent for p in root.glob(f"*/{MANIFEST}") if not p.parent.name.startswith("."))
        if root.is_dir()
        else []
    )
    infos = [_info(path, path.name) for path in found]
    shipped = Path(__file__).parents[1] / "default_model"
    if DEFAULT_MODEL not in {i.name for i in infos} and (shipped / MANIFEST).is_file():
        infos.append(_info(shipped, DEFAULT_MODEL, packaged=True))
    return infos


def _info(path: Path, name: str, *, packaged: bool = False) -> BundleInfo:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        test = (manifest.get("metrics") or {}).get("test") or {}
        return BundleInfo(
            name,
            path,
            mode=str(manifest.get("mode", "?")),
            labels=len(manifest.get("labels", [])),
            test_micro_f1=float(test["micro"]["f1"]) if test else None,
            test_macro_f1=float(test["macro"]["f1"]) if test else None,
            packaged=packaged,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return BundleInfo(name, path, packaged=packaged, problem=f"unreadable manifest ({exc})")


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


def _complete_manifest(model: ModelData, weights: bytes) -> dict[str, Any]:
    """Return the full ``model.json`` of a model whose weights archive is ``weights``."""
    manifest = {k: v for k, v in model.manifest.items() if k not in _OWNED}
    manifest.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        mode=model.mode,
        labels=list(model.labels),
        at_least_one=bool(model.at_least_one),
        views=[view.to_dict() for view in model.views],
        weights={
            "file": WEIGHTS,
            "sha256": hashlib.sha256(weights).hexdigest(),
            "n_features": int(model.coef.shape[0]),
            "dtype": str(model.coef.dtype),
        },
    )
    if model.abstain is not None:
        manifest["abstain"] = {"rule": "no-topic-head"}
    manifest["integrity"] = integrity_of(manifest)
    return manifest


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Return an ``.npz`` archive with fixed timestamps, so equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _write_synced(path: Path, data: bytes) -> None:
    write_synced(path, data)
    os.chmod(path, 0o644)
