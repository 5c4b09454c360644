"""Model bundles on disk: a pickle-free weights file, a JSON manifest and a model card.

A bundle is a folder::

    models/NAME/
        weights.npz     arrays only (vocabularies, idf, coefficients, calibration, thresholds)
        model.json      format version, labels, config, data hash, versions, metrics, weights hash
        MODEL_CARD.md   for people

``weights.npz`` is read with ``allow_pickle=False`` and checked against the SHA-256 in
``model.json``; nothing in a bundle is ever executed. Bundles are written to a temporary
sibling folder and swapped in, so a crash leaves the old bundle or the new one, whole.
Writing the same model twice gives the same bytes: no timestamps, no absolute paths.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topictag.errors import ModelError
from topictag.model.features import View

FORMAT = "topictag-bundle"
FORMAT_VERSION = 1
WEIGHTS = "weights.npz"
MANIFEST = "model.json"
CARD = "MODEL_CARD.md"
DEFAULT_MODEL = "news-topics"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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
        return out


def save_bundle(
    model: ModelData, path: str | Path, *, force: bool = False, card: str | None = None
) -> Path:
    """Write a bundle folder atomically.

    Parameters
    ----------
    model : ModelData
    path : path
        The bundle folder to create.
    force : bool
        Replace an existing bundle. Without it an existing folder is an error.
    card : str, optional
        The Markdown text of ``MODEL_CARD.md`` (see :func:`topictag.train.save_model`, which
        renders it); without it the bundle has no card.

    Raises
    ------
    ModelError
        If ``path`` exists and ``force`` is false.
    """
    path = Path(path)
    if path.exists() and not force:
        raise ModelError(f"{path}: a model already exists there (use --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        weights = _npz_bytes(model.arrays())
        manifest = dict(model.manifest)
        manifest.update(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            mode=model.mode,
            labels=list(model.labels),
            thresholds={
                lab: float(t) for lab, t in zip(model.labels, model.thresholds, strict=True)
            },
            at_least_one=model.at_least_one,
            views=[view.to_dict() for view in model.views],
            weights={
                "file": WEIGHTS,
                "sha256": hashlib.sha256(weights).hexdigest(),
                "n_features": int(model.coef.shape[0]),
                "dtype": str(model.coef.dtype),
            },
        )
        _write_synced(staging / WEIGHTS, weights)
        _write_synced(staging / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        if card is not None:
            _write_synced(staging / CARD, card.encode())
        os.chmod(staging, 0o755)
        _swap_in(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_bundle(path: str | Path) -> ModelData:
    """Read and verify a bundle folder.

    Raises
    ------
    ModelError
        If the folder is missing or not a bundle, the format version is unknown, or the weights
        file is missing, truncated or does not match the hash in the manifest.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: no model bundle there (not a folder)")
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: not a model bundle (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{manifest_path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{manifest_path}: not a topictag model manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{manifest_path}: bundle format version {manifest.get('format_version')!r} is not "
            f"supported (this topictag reads version {FORMAT_VERSION})"
        )
    weights_path = path / WEIGHTS
    try:
        data = weights_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{weights_path}: cannot read weights ({exc.strerror})") from None
    expected = manifest.get("weights", {}).get("sha256")
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelError(
            f"{weights_path}: weights do not match the manifest's SHA-256 "
            "(the file is corrupt, truncated or was edited)"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return _model_from(manifest, arrays)
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{weights_path}: malformed weights ({exc})") from None


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


def _model_from(manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> ModelData:
    views = [View.from_dict(v) for v in manifest["views"]]
    vocabularies, idfs = [], []
    for i in range(len(views)):
        raw = arrays[f"vocabulary_{i}"]
        if raw.dtype != np.uint8:
            raise ValueError(f"vocabulary_{i} has dtype {raw.dtype}")
        text = raw.tobytes().decode("utf-8")
        vocabularies.append(text.split("\n") if text else [])
        idfs.append(arrays[f"idf_{i}"])
    labels = list(manifest["labels"])
    coef = arrays["coef"]
    n_features = sum(len(v) for v in vocabularies)
    if coef.shape != (n_features, len(labels)):
        raise ValueError(f"coef has shape {coef.shape}, expected {(n_features, len(labels))}")
    for vocab, idf in zip(vocabularies, idfs, strict=True):
        if idf.shape != (len(vocab),):
            raise ValueError("idf and vocabulary sizes differ")
    return ModelData(
        labels=labels,
        mode=str(manifest["mode"]),
        views=views,
        vocabularies=vocabularies,
        idfs=idfs,
        coef=coef,
        intercept=arrays["intercept"],
        calibration=arrays["calibration"],
        thresholds=arrays["thresholds"],
        at_least_one=bool(manifest["at_least_one"]),
        manifest=manifest,
    )


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
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o644)


def _swap_in(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``; an existing ``target`` is exchanged atomically."""
    if not target.exists():
        os.rename(staging, target)
    elif not _exchange(staging, target):
        # No atomic exchange on this platform: move the old bundle aside first, so that a
        # crash between the two renames still leaves it whole under the aside name.
        aside = staging.with_name(staging.name + ".old")
        os.rename(target, aside)
        os.rename(staging, target)
        shutil.rmtree(aside, ignore_errors=True)
    # after an exchange, staging holds the old bundle; the caller removes it
    _fsync_dir(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux ``renameat2(RENAME_EXCHANGE)``."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
