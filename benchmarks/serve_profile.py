"""What ``make bench-serve`` measures besides whole-process times: where the time goes.

- :func:`wheel_venv`: a virtual environment with topictag installed from a freshly built wheel
  (``pip install .``: the latest releases of every dependency, not the locked ones);
- :func:`phases`: CPU seconds of each step of classifying a file in one process;
- :func:`hot_functions`: cProfile's busiest functions of ``topictag classify -j 1``;
- :func:`cold_imports`: the modules the one-paragraph classify imports beyond numpy's own;
- :func:`equivalence`: the numpy runtime against the scikit-learn pipeline on the test set;
- :class:`MachineLoad`: how busy the machine was (load average, CPU used by others).
"""

from __future__ import annotations

import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, progress

PYTHON = sys.executable

_PHASES = """
import json, sys, time
clock = time.process_time
t0 = clock()
import numpy
t1 = clock()
from topictag.data.inputs import read_items
from topictag.model.inference import load_model
from topictag.serve.stream import ClassifyStats, Options, batch_rows, batches, render_jsonl
t2 = clock()
model = load_model(sys.argv[1])
t3 = clock()
items = list(read_items(sys.argv[2]))
t4 = clock()
options = Options(scores=sys.argv[3])
score = rows = text = 0.0
for batch in batches(items, batch_size=256, stats=ClassifyStats()):
    a = clock()
    texts = [item.text for item in batch]
    scores = model.score(texts)
    b = clock()
    out, _ = batch_rows(model, batch, texts, None, scores, options, as_text=True)
    c = clock()
    render_jsonl(out)
    d = clock()
    score += b - a; rows += c - b; text += d - c
print(json.dumps({"import numpy": t1 - t0, "import topictag": t2 - t1, "load the model": t3 - t2,
    "read and parse the input": t4 - t3, "score (tokenize, look up, multiply, calibrate)": score,
    "decide labels, build rows": rows, "render JSON": text}))
"""


def phases(model: Path, source: Path, *, scores: str, repeats: int = 3) -> dict[str, float]:
    """CPU seconds of each step of classifying ``source`` in one process (medians)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # as the classify command runs
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [PYTHON, "-c", _PHASES, str(model), str(source), scores],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
            env=env,
        ).stdout
        runs.append(json.loads(out))
    return {key: sorted(r[key] for r in runs)[len(runs) // 2] for key in runs[0]}


def hot_functions(command: list[str], *, top: int = 12) -> list[tuple[str, float, float]]:
    """The ``top`` functions by own time in a cProfile of ``python -m topictag ARGS``.

    Returns ``(function, seconds, share of the whole)`` tuples.
    """
    with tempfile.TemporaryDirectory() as folder:
        stats_file = Path(folder) / "profile"
        subprocess.run(
            [PYTHON, "-m", "cProfile", "-o", str(stats_file), "-m", "topictag", *command],
            check=True,
            timeout=600,
            capture_output=True,
        )
        stats = pstats.Stats(str(stats_file))
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(value[2] for value in entries.values())
    ranked = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    out = []
    for (filename, line, name), value in ranked:
        where = Path(filename).name if filename != "~" else ""
        label = f"{where}:{line}({name})" if where else name
        out.append((label, value[2], value[2] / total))
    return out


def cold_imports(
    python: str, command: list[str], *, env: dict[str, str], repeats: int = 5
) -> tuple[list[tuple[str, float]], float, float]:
    """Modules a command imports beyond ``import numpy``: the largest own times (ms, best of
    ``repeats``), their sum, and numpy's own import time (ms)."""

    def best(args: list[str]) -> dict[str, int]:
        times: dict[str, int] = {}
        for _ in range(repeats):
            err = subprocess.run(
                [python, "-X", "importtime", *args],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                cwd=tempfile.gettempdir(),
            ).stderr
            for line in err.splitlines():
                if not line.startswith("import time:") or "self [us]" in line:
                    continue
                own, _, name = line[len("import time:") :].split("|")
                key = name.strip()
                times[key] = min(times.get(key, 1 << 62), int(own))
        return times

    numpy = best(["-c", "import numpy"])
    ours = best(command)
    extra = {name: us / 1000 for name, us in ours.items() if name not in numpy}
    ranked = sorted(extra.items(), key=lambda kv: -kv[1])
    return ranked[:12], sum(extra.values()), sum(numpy.values()) / 1000


def equivalence(model_path: Path, texts: list[str]) -> dict[str, Any]:
    """The numpy runtime against the equivalent scikit-learn pipeline on ``texts``."""
    import numpy as np

    from topictag.model.inference import load_model
    from topictag.train.bridge import to_sklearn

    model = load_model(model_path)
    pipeline = to_sklearn(model)
    ours = model.predict_proba(texts)
    theirs = pipeline.predict_proba(texts)
    labels = model.predict(texts)
    expected = pipeline.predict(texts)
    same = sum(
        sorted(model.labels.index(x) for x in got) == np.flatnonzero(row).tolist()
        for got, row in zip(labels, expected, strict=True)
    )
    return {
        "documents": len(texts),
        "same_labels": int(same),
        "max_probability_difference": float(np.abs(ours - theirs).max()),
    }


def wheel_venv(folder: Path, *, fresh: bool) -> Path:
    """Build a wheel of this tree and install it in ``folder`` (created with its dependencies'
    latest releases the first time, or with ``fresh``; later runs reinstall only topictag).

    Returns the venv's ``bin`` folder.
    """
    import shutil

    bin_dir = folder / "bin"
    with tempfile.TemporaryDirectory() as wheels:
        progress("building a wheel of topictag")
        subprocess.run(
            [PYTHON, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, str(ROOT)],
            check=True,
            timeout=600,
            capture_output=True,
        )
        wheel = next(Path(wheels).glob("topictag-*.whl"))
        if fresh and folder.exists():
            shutil.rmtree(folder)
        pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if not (bin_dir / "python").exists():
            progress(f"pip install . into {folder} (the latest releases of every dependency)")
            subprocess.run([PYTHON, "-m", "venv", str(folder)], check=True, timeout=600)
            subprocess.run([*pip, str(wheel)], check=True, timeout=1800, env=clean_env())
        else:
            subprocess.run(
                [*pip, "--no-deps", "--force-reinstall", str(wheel)],
                check=True,
                timeout=600,
                env=clean_env(),
            )
    return bin_dir


def installed(bin_dir: Path, names: list[str]) -> dict[str, str]:
    """The versions of some distributions in a venv (``-`` when absent)."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = '-'\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run(
        [str(bin_dir / "python"), "-c", code, *names],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=clean_env(),
    ).stdout
    return dict(json.loads(out))


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without PYTHONPATH (an installed package must import itself) and
    without PYTHONDONTWRITEBYTECODE (a user's Python caches bytecode)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(extra)
    return env


@dataclass
class MachineLoad:
    """How busy the machine was while the benchmark ran: load averages, and the share of all
    CPU time that other processes used (total busy time less this benchmark's children)."""

    loads: list[float] = field(default_factory=list)
    started: tuple[float, float] = (0.0, 0.0)
    others_share: float = 0.0

    def start(self) -> None:
        self.started = (_busy_seconds(), _children_cpu())
        self.sample()

    def sample(self) -> None:
        self.loads.append(os.getloadavg()[0])

    def stop(self, wall: float) -> None:
        self.sample()
        busy = _busy_seconds() - self.started[0]
        ours = _children_cpu() - self.started[1]
        cores = os.cpu_count() or 1
        self.others_share = max(busy - ours, 0.0) / max(wall * cores, 1e-9)


def _busy_seconds() -> float:
    """CPU seconds spent not idle, summed over the machine's cores (/proc/stat)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + time.process_time()
