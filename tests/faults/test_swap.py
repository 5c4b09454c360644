"""A reader loop during a retrain loop: every load sees one whole bundle, never a mix."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

from tests.faults.helpers import ENV, TIMEOUT, hidden
from topictag.model.bundle import load_bundle

WRITER = """
import sys, time
from topictag.model.bundle import load_bundle
from topictag.model.writing import save_bundle
models = [load_bundle(path) for path in sys.argv[2:4]]
end, swaps = time.monotonic() + float(sys.argv[4]), 0
while time.monotonic() < end:
    save_bundle(models[swaps % 2], sys.argv[1], force=True)
    swaps += 1
print(swaps)
"""


def test_readers_see_the_old_bundle_or_the_new_while_it_is_retrained(tmp_path, bundles):
    target = tmp_path / "model"
    shutil.copytree(bundles[0], target)
    versions = {load_bundle(b).manifest["integrity"]["sha256"] for b in bundles}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), *map(str, bundles), "3"],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, int] = {}
    problems = []
    deadline = time.monotonic() + TIMEOUT
    while writer.poll() is None and time.monotonic() < deadline:
        try:
            version = load_bundle(target).manifest["integrity"]["sha256"]
        except Exception as error:  # any failure is a reader that saw a swap
            problems.append(str(error))
            continue
        seen[version] = seen.get(version, 0) + 1
    out, _ = writer.communicate(timeout=TIMEOUT)
    assert writer.returncode == 0
    assert problems == []
    assert set(seen) == versions  # both bundles were read: the swaps did happen under the reader
    assert int(out) >= 10 and sum(seen.values()) >= 50
    assert hidden(tmp_path) == []
