"""Finding bundles: a model by name or path, and the bundles of a models folder.

A name is looked up in ``$TOPICTAG_MODELS`` (default ``./models``), then among the models shipped
inside the package (the default model, for pip installs).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from topictag.model.bundle import DEFAULT_MODEL, MANIFEST

_SHIPPED = Path(__file__).parents[1] / "default_model"


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
    shipped = _SHIPPED
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
    shipped = _SHIPPED
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
