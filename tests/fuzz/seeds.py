"""Write the fuzzers' seed inputs from the test fixtures: ``python -m tests.fuzz.seeds DIR``.

One folder per target. The inputs of ``tests/fuzz/corpus/`` (found by earlier campaigns) are
passed to the fuzzer beside these.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import DEFAULT_RECIPE, ROOT, tiny_rows


def seeds() -> dict[str, dict[str, bytes]]:
    """Return ``{target: {file name: bytes}}``."""
    from tests.data.test_importers import SGML
    from tests.serve.test_protocol import HOSTILE

    rows = tiny_rows()
    jsonl = "".join(json.dumps(row) + "\n" for row in rows).encode()
    csv = ("id,text,labels\n" + "".join(f'{r["id"]},"{r["text"]}",{";".join(r["labels"])}\n'
                                        for r in rows)).encode()  # fmt: skip
    text = "".join(r["text"] + "\n" for r in rows).encode()
    fasttext = "".join(
        " ".join(f"__label__{x}" for x in r["labels"]) + f" {r['text']}\n" for r in rows
    ).encode()
    hostile = b"\n".join(line for line, _, _ in HOSTILE) + b"\n"
    recipes = {p.name: p.read_bytes() for p in (ROOT / "training").glob("*.toml")}
    recipes["search.toml"] = (
        b'[model]\nC = 1.0\n[search.model]\nC = [0.5, 2.0]\nclass_weight = ["none", "balanced"]\n'
        b"[search.features]\nngram_range = [[1, 1], [1, 3]]\n"
    )
    return {
        "corpus": {"tiny.jsonl": jsonl, "hostile.jsonl": hostile},
        # the first byte picks the format (auto, text, jsonl, csv; +4: whole input)
        "inputs": {
            "jsonl": b"\x02" + jsonl,
            "csv": b"\x03" + csv,
            "text": b"\x01" + text,
            "article": b"\x05" + text,
            "hostile": b"\x00" + hostile,
        },
        # the first byte picks the reader (fasttext, csv, tsv, sgm, sgm.gz, articles)
        "importers": {
            "fasttext": b"\x00" + fasttext,
            "csv": b"\x01" + csv,
            "tsv": b"\x02" + csv.replace(b",", b"\t"),
            "sgm": b"\x03" + SGML.encode(),
            "sgm.gz": b"\x04" + SGML.encode(),
            "articles": b"\x05" + text,
        },
        "recipe": recipes | {"default.toml": DEFAULT_RECIPE.read_bytes()},
        "serve": {"tiny.jsonl": jsonl, "hostile.jsonl": hostile, "text.txt": text},
        "bundle": _bundle_seeds(),
    }


def _bundle_seeds() -> dict[str, bytes]:
    """A small pruned copy of the default model, packed as fuzz_bundle reads it."""
    import tempfile

    from tests.conftest import DEFAULT_MODEL
    from tests.fuzz.fuzz_bundle import pack
    from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle
    from topictag.model.pruning import prune_model
    from topictag.model.writing import save_bundle

    with tempfile.TemporaryDirectory() as folder:
        small = save_bundle(prune_model(load_bundle(DEFAULT_MODEL), max_features=40), folder + "/m")
        manifest, weights = (small / MANIFEST).read_bytes(), (small / WEIGHTS).read_bytes()
    return {
        "small": pack(manifest, weights, rehash=False),
        "small-rehashed": pack(manifest, weights, rehash=True),
    }


def write_seeds(folder: Path) -> None:
    """Write every target's seeds under ``folder/<target>/``."""
    for target, files in seeds().items():
        (folder / target).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / target / name).write_bytes(data)


if __name__ == "__main__":
    write_seeds(Path(sys.argv[1]))
