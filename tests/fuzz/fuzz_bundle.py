"""Fuzz the bundle loader: a folder whose ``model.json`` and ``weights.npz`` are fuzzed bytes.

Input layout: one mode byte, four bytes of manifest length (big-endian), the manifest, then the
weights. With the mode's low bit set, the harness first makes both hashes match what it writes
(the weights' SHA-256 and the manifest's integrity hash), so that the fuzzer explores the audit
behind them (schema, archive members, dtypes, shapes) instead of stopping at a hash mismatch.
A bundle that loads must then classify without error and give finite probabilities.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np

from tests.fuzz.harness import SCRATCH, check_error, instrumented, main

with instrumented():
    from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle
    from topictag.model.inference import Model
    from topictag.model.manifest import integrity_of

FOLDER = SCRATCH / "bundle"
FOLDER.mkdir(exist_ok=True)


def pack(manifest: bytes, weights: bytes, *, rehash: bool) -> bytes:
    """Return the fuzz input that writes these two files (used for the seeds)."""
    return bytes([int(rehash)]) + struct.pack(">I", len(manifest)) + manifest + weights


def _rehash(manifest: bytes, weights: bytes) -> bytes:
    try:
        document = json.loads(manifest)
    except (ValueError, RecursionError):
        return manifest
    if not isinstance(document, dict) or not isinstance(document.get("weights"), dict):
        return manifest
    document["weights"]["sha256"] = hashlib.sha256(weights).hexdigest()
    document.pop("integrity", None)
    try:
        document["integrity"] = integrity_of(document)
        return json.dumps(document).encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        return manifest


def test_one_input(data: bytes) -> None:
    if len(data) < 5:
        return
    (length,) = struct.unpack(">I", data[1:5])
    manifest, weights = data[5 : 5 + length], data[5 + length :]
    if data[0] & 1:
        manifest = _rehash(manifest, weights)
    (FOLDER / MANIFEST).write_bytes(manifest)
    (FOLDER / WEIGHTS).write_bytes(weights)
    try:
        model = Model(load_bundle(FOLDER))
    except Exception as error:
        check_error(error, FOLDER)
        return
    scores = model.score(["Oil prices rose after the talks.", "", "qqq"])
    if not np.isfinite(scores.proba).all() or not np.isfinite(scores.raw).all():
        raise AssertionError("a bundle that loads gives probabilities that are not finite")
    model.decide(scores.proba, known=scores.known_terms > 0)


if __name__ == "__main__":
    main(test_one_input)
