"""The models a service answers with, and their hot reload from disk.

A served model is looked at on disk by its folder's and files' identity (inode, size, mtime),
so the atomic swap that ``train --force`` makes is seen as a change. A new bundle replaces the
old only once it has loaded and verified whole; a broken one is refused and the old one keeps
answering. Requests already holding the old model finish with it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topictag.errors import ModelError
from topictag.model.bundle import MANIFEST, WEIGHTS
from topictag.model.catalog import resolve_model
from topictag.model.inference import Model, load_model

log = logging.getLogger("topictag")

Fingerprint = tuple[int, ...]


@dataclass(frozen=True)
class Served:
    """One loaded model as the service answers with it."""

    name: str
    path: Path
    model: Model
    fingerprint: Fingerprint
    loaded_at: float  # Unix time
    load_seconds: float

    def describe(self) -> dict[str, Any]:
        """Return what ``GET /v1/models/{name}`` answers: the model's identity and numbers."""
        manifest = self.model.manifest
        training = manifest.get("training_data") or {}
        return {
            "name": self.name,
            "mode": self.model.mode,
            "labels": list(self.model.labels),
            "thresholds": {
                label: float(t)
                for label, t in zip(self.model.labels, self.model.thresholds, strict=True)
            },
            "at_least_one": bool(manifest.get("at_least_one", False)),
            "features": int((manifest.get("weights") or {}).get("n_features", 0)),
            "views": list(manifest.get("views") or []),
            "training_data": {
                "sha256": training.get("sha256"),
                "files": [f.get("name") for f in training.get("files") or []],
                "train_rows": training.get("train_rows"),
                "test_rows": training.get("test_rows"),
            },
            "metrics": manifest.get("metrics") or {},
            "format": manifest.get("format"),
            "format_version": manifest.get("format_version"),
            "topictag_version": manifest.get("topictag_version"),
            "weights_sha256": (manifest.get("weights") or {}).get("sha256"),
            "loaded_at": round(self.loaded_at, 3),
        }


@dataclass(frozen=True)
class ReloadEvent:
    """What one look at a model's bundle found: ``reloaded`` or ``refused`` (with why)."""

    name: str
    outcome: str
    seconds: float = 0.0
    error: str | None = None


def model_name(source: str) -> str:
    """Return the name a ``--model`` value is served under: its folder's name."""
    return Path(source.rstrip("/\\") or source).name or source


def fingerprint(path: Path) -> Fingerprint:
    """Identify a bundle's current files on disk; an ``OSError`` if they are not there."""
    parts: list[int] = []
    for target in (path, path / MANIFEST, path / WEIGHTS):
        stat = os.stat(target)
        parts += [stat.st_ino, stat.st_size, stat.st_mtime_ns]
    return tuple(parts)


class ModelSet:
    """The models a service answers with, by name; the first one is the default.

    Parameters
    ----------
    sources : list of str
        ``--model`` values: bundle folders or names (see
        :func:`topictag.model.catalog.resolve_model`).

    Raises
    ------
    ModelError
        If a model does not load, or two have the same name.
    """

    def __init__(self, sources: list[str]):
        if not sources:
            raise ModelError("no model to serve (give --model)")
        self._served: dict[str, Served] = {}
        self._refused: dict[str, Fingerprint | None] = {}  # the change on disk last refused
        self._lock = threading.Lock()
        for source in sources:
            name = model_name(source)
            if name in self._served:
                raise ModelError(f"two models are named {name!r}; serve each name once")
            self._served[name] = _load(name, resolve_model(source))
        self.default = model_name(sources[0])

    def names(self) -> list[str]:
        """Return the served names, the default first."""
        return list(self._served)

    def get(self, name: str | None = None) -> Served:
        """Return a served model by name (the default for None); KeyError if unknown."""
        return self._served[self.default if name is None else name]

    def all(self) -> list[Served]:
        """Return every served model, the default first."""
        return list(self._served.values())

    def refresh(self, *, force: bool = False) -> list[ReloadEvent]:
        """Load every bundle that changed on disk (every bundle with ``force``).

        A bundle that fails to load is refused (once per change on disk) and the loaded model
        keeps answering. Safe to call from any thread; one refresh runs at a time.
        """
        events = []
        with self._lock:
            for name, served in list(self._served.items()):
                try:
                    now: Fingerprint | None = fingerprint(served.path)
                except OSError:
                    now = None
                refused = self._refused.get(name, ())
                if not force and now in (served.fingerprint, refused):
                    continue
                try:
                    fresh = _load(name, served.path)
                except ModelError as error:
                    self._refused[name] = now
                    events.append(ReloadEvent(name, "refused", error=str(error)))
                    continue
                self._refused.pop(name, None)
                if force and fresh.fingerprint == served.fingerprint:
                    fresh = served  # unchanged on disk: keep the loaded one (and its numbers)
                else:
                    self._served[name] = fresh
                events.append(ReloadEvent(name, "reloaded", seconds=fresh.load_seconds))
        return events


def _load(name: str, path: Path) -> Served:
    start = time.perf_counter()
    try:
        before = fingerprint(path)
    except OSError:
        before = ()
    model = load_model(path)
    seconds = time.perf_counter() - start
    try:
        after = fingerprint(path)
    except OSError:
        after = ()
    if before != after:  # swapped while being read: what was read may mix two bundles
        raise ModelError(f"{path}: the bundle changed while it was being read; try again")
    return Served(name, path, model, after, time.time(), seconds)
