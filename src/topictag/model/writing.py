"""Writing model bundles: atomically, reproducibly, and never over anything but a bundle.

A bundle (:mod:`topictag.model.bundle`) is staged in a hidden sibling folder and swapped in
whole, so a crash leaves the old bundle or the new one. Writing the same model twice gives the
same bytes: the weights archive has fixed timestamps, and the manifest no absolute paths.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from topictag.data.files import write_synced
from topictag.data.folders import atomic_folder, check_output_folder, describe_existing
from topictag.errors import ModelError
from topictag.model.archive import MAX_MANIFEST_BYTES, ArchiveProblem, open_folder, read_member_file
from topictag.model.bundle import CARD, FORMAT, FORMAT_VERSION, MANIFEST, WEIGHTS, ModelData
from topictag.model.manifest import integrity_of

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
    weights = npz_bytes(model.arrays())
    manifest = complete_manifest(model, weights)
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


def complete_manifest(model: ModelData, weights: bytes) -> dict[str, Any]:
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


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
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
