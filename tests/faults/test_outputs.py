"""What is at an output path: never destroyed unless it is ours, written to when it is a stream.

--force onto each kind of non-bundle, creating without --force (race included), --output onto
a FIFO, a symlink and a mode-600 file, a full disk (RLIMIT_FSIZE, a /dev/full device node) and
a read-only folder (as an unprivileged user: the tests run as root, who ignores permissions).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.faults.helpers import ENV, TIMEOUT, assert_one_line_error, hidden, run, topictag
from topictag.cli.application import app
from topictag.errors import ModelError
from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle
from topictag.model.writing import save_bundle

runner = CliRunner()


def invoke(*args: str | Path, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def _tree(path: Path) -> object:
    """Everything at ``path``, to compare before and after: kinds, names, bytes, link targets."""
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_dir():
        return {p.name: _tree(p) for p in sorted(path.iterdir())}
    if stat.S_ISFIFO(path.stat().st_mode):
        return "fifo"
    return path.read_bytes()


def _notes(path: Path) -> None:
    path.mkdir()
    (path / "notes.txt").write_text("three years of notes\n")


def _models(path: Path, bundles: tuple[Path, Path]) -> None:
    path.mkdir()
    for bundle in bundles:
        shutil.copytree(bundle, path / bundle.name)


def _foreign_manifest(path: Path, text: str) -> None:
    path.mkdir()
    (path / MANIFEST).write_text(text)
    (path / "data.bin").write_bytes(b"\0" * 16)


NOT_BUNDLES = {
    "a file": lambda p, b: p.write_text("a plain file\n"),
    "a FIFO": lambda p, b: os.mkfifo(p),
    "a folder of notes": lambda p, b: _notes(p),
    "a symlink to a folder of notes": lambda p, b: (
        _notes(p.with_name("real")),
        p.symlink_to("real"),
    ),
    "a models folder": _models,
    "another tool's model.json": lambda p, b: _foreign_manifest(p, '{"format": "other"}'),
    "an unreadable model.json": lambda p, b: _foreign_manifest(p, '{"format": "topictag-bun'),
}


@pytest.mark.parametrize("kind", list(NOT_BUNDLES))
def test_force_refuses_what_is_not_a_bundle_with_one_line_before_training(
    kind, tmp_path, corpus, bundles
):
    target = tmp_path / "out"
    NOT_BUNDLES[kind](target, bundles)
    before = _tree(tmp_path)
    for command in (
        ["train", "-d", corpus, "-o", target, "--force", "-j", "1"],
        ["models", "prune", bundles[0], "-o", target, "--force", "--float16"],
    ):
        result = invoke(*command)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()  # only the error: nothing was trained
        assert line.startswith(f"topictag: error: {target}: ") and "not a model bundle" in line
        assert _tree(tmp_path) == before


def _damaged(path: Path, bundles: tuple[Path, Path]) -> None:
    shutil.copytree(bundles[0], path)
    (path / WEIGHTS).write_bytes(b"not a zip archive")


def _version1(path: Path, bundles: tuple[Path, Path]) -> None:
    path.mkdir()
    (path / MANIFEST).write_text(json.dumps({"format": "topictag-bundle", "format_version": 1}))


REPLACEABLE = {"an empty folder": lambda p, b: p.mkdir(), "damaged weights": _damaged}
REPLACEABLE["a version-1 bundle"] = _version1


@pytest.mark.parametrize("kind", list(REPLACEABLE))
def test_force_replaces_a_bundle_of_any_version_or_state_or_an_empty_folder(
    kind, tmp_path, corpus, bundles
):
    target = tmp_path / "out"
    REPLACEABLE[kind](target, bundles)
    refused = invoke("train", "-d", corpus, "-o", target, "-j", "1")
    assert refused.exit_code == 1 and "(use --force to replace it)" in refused.stderr
    assert refused.stderr.count("\n") == 1
    result = invoke("train", "-d", corpus, "-o", target, "--force", "-j", "1")
    assert result.exit_code == 0, result.output
    assert load_bundle(target).labels == ["energy", "talks", "war"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock, marker, staging


def test_creating_a_bundle_never_replaces_one_that_appeared_meanwhile(
    tmp_path, bundles, monkeypatch
):
    import topictag.model.writing as writing

    target = tmp_path / "model"
    data = load_bundle(bundles[0])
    # another run creates the bundle after this one checked that the place was free
    monkeypatch.setattr(
        writing, "check_output_folder", lambda *a: shutil.copytree(bundles[1], target)
    )
    with pytest.raises(ModelError, match="a model already exists there"):
        save_bundle(data, target)
    assert _tree(target) == _tree(bundles[1])
    assert hidden(tmp_path) == []


def test_a_stale_staging_folder_is_not_a_model_and_the_next_run_removes_it(tmp_path, corpus):
    models = tmp_path / "models"
    stale = models / ".news-topics.999999999.0123456789ab.tmp"  # no such pid
    stale.mkdir(parents=True)
    (stale / MANIFEST).write_text('{"format": "topictag-bundle"}')
    live = models / f".news-topics.{os.getpid()}.0123456789ab.tmp"  # a live run's: kept
    live.mkdir()
    listed = run("models", "list", "--json", env={**ENV, "TOPICTAG_MODELS": str(models)})
    assert [m["name"] for m in json.loads(listed.stdout)] == ["news-topics"]  # the packaged one
    assert [m["packaged"] for m in json.loads(listed.stdout)] == [True]
    result = invoke("train", "-d", corpus, "-o", models / "news-topics", "-j", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in models.iterdir()) == [live.name, "news-topics"]


def test_a_failed_run_leaves_nothing_at_its_output_path(tmp_path, corpus, bundles, make_file):
    bad = make_file("bad.jsonl", '{"text": "Oil prices rose.", "labels": ["energy"]}\n{"te\n')
    before = sorted(p.name for p in tmp_path.iterdir())
    for command in (
        ["train", "-d", bad, "-o", tmp_path / "new" / "models" / "m", "-j", "1"],
        ["classify", "-m", bundles[0], "-i", bad, "-o", tmp_path / "new" / "out.jsonl", "-j", "1"],
        ["evaluate", bundles[0], "-d", bad, "-o", tmp_path / "new" / "report"],
        ["data", "split", bad, "-o", tmp_path / "new" / "split.jsonl"],
    ):
        result = invoke(*command)
        assert result.exit_code == 1, result.output
        assert "bad.jsonl:2: malformed JSON" in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # no folder "new" either


def test_a_folder_where_a_file_is_expected_is_one_line(tmp_path, bundles):
    (tmp_path / "out.jsonl").mkdir()
    result = invoke("classify", "-m", bundles[0], "-o", tmp_path / "out.jsonl", "Oil prices.")
    assert result.exit_code == 1 and result.stdout == ""
    assert (
        result.stderr
        == f"topictag: error: {tmp_path / 'out.jsonl'}: is a folder, expected a file\n"
    )


def test_evaluate_replaces_only_a_previous_report(tmp_path, corpus, bundles):
    report = tmp_path / "report"
    first = invoke("evaluate", bundles[0], "-d", corpus, "-o", report)
    assert first.exit_code == 0, first.output
    again = invoke("evaluate", bundles[1], "-d", corpus, "-o", report, "--split", "all")
    assert again.exit_code == 0, again.output
    assert json.loads((report / "metrics.json").read_text())["data"]["split"] == "all"
    (report / "mine.txt").write_text("not the report's")
    before = _tree(tmp_path)
    refused = invoke("evaluate", bundles[1], "-d", corpus, "-o", report)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith(f"topictag: error: {report}: a folder holding metrics.json")
    assert "mine.txt" in refused.stderr
    assert "not a topictag report" in refused.stderr and refused.stderr.count("\n") == 1
    assert _tree(tmp_path) == before


def _classify_to(output: Path, model: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("classify", "-m", model, "-o", output, "-j", "1", *extra, "Oil prices rose.")


def test_output_onto_a_fifo_is_streamed_to_it(tmp_path, bundles):
    fifo = tmp_path / "answers"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = _classify_to(fifo, bundles[0])
    reader.join(timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not replaced by a file
    assert json.loads(got[0])["id"] == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers"]


def test_output_onto_a_symlink_writes_its_target(tmp_path, bundles):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "answers.jsonl"
    target.write_text("old\n")
    link = tmp_path / "answers.jsonl"
    link.symlink_to(target)
    result = _classify_to(link, bundles[0])
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["id"] == "1"
    assert hidden(tmp_path) == [] and hidden(tmp_path / "real") == []


def test_output_onto_a_mode_600_file_keeps_its_mode_and_owner(tmp_path, bundles):
    target = tmp_path / "answers.jsonl"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    owner = (65534, 65534) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    os.chown(target, *owner)
    result = _classify_to(target, bundles[0])
    assert result.returncode == 0, result.stderr
    info = target.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, *owner)
    assert json.loads(target.read_text())["id"] == "1"


def _file_size_limit(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("command", ["classify", "train"])
def test_a_full_disk_is_one_line_and_leaves_nothing(command, tmp_path, corpus, bundles):
    out = tmp_path / "out"
    if command == "classify":
        paragraphs = tmp_path / "in.txt"
        paragraphs.write_text("Oil prices rose sharply.\n" * 500)
        args = ["classify", "-m", bundles[0], "-i", paragraphs, "-o", out, "-j", "1"]
    else:
        args = ["train", "-d", corpus, "-o", out, "-j", "1", "-q"]
    before = sorted(p.name for p in tmp_path.iterdir())
    # in a child only: files it writes may not grow past 1 KiB (what a full disk looks like)
    result = run(*args, preexec_fn=_file_size_limit(1024))
    assert_one_line_error(result, f"{out}: cannot write (File too large)")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_full_device_is_one_line_and_stays_a_device(tmp_path, bundles):
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # what /dev/full is
        with open(full, "wb") as probe:
            probe.write(b"x")
    except PermissionError:
        pytest.skip("cannot make a device node here")
    except OSError:
        pass  # ENOSPC: it is /dev/full
    result = _classify_to(full, bundles[0])
    assert_one_line_error(result, f"{full}: cannot write (No space left on device)")
    assert stat.S_ISCHR(full.stat().st_mode)


@pytest.fixture
def shared_folder():
    """A folder an unprivileged user can reach (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="topictag-faults-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_nobody(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run a command as an unprivileged user")
    command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *topictag(*args)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**ENV, "HOME": str(cwd)},
        cwd=cwd,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_read_only_folder_is_one_line_before_any_work(shared_folder, corpus, bundles):
    shutil.copy(corpus, shared_folder / "tiny.jsonl")
    shutil.copytree(bundles[0], shared_folder / "model")
    locked = shared_folder / "locked"
    locked.mkdir(mode=0o755)  # root's: others may read it, not write in it
    for args in (
        ["train", "-d", "tiny.jsonl", "-o", locked / "model", "-j", "1"],
        ["classify", "-m", "model", "-o", locked / "out.jsonl", "Oil prices rose."],
        ["evaluate", "model", "-d", "tiny.jsonl", "-o", locked / "report"],
        ["data", "split", "tiny.jsonl", "-o", locked / "split.jsonl"],
    ):
        result = _as_nobody(*args, cwd=shared_folder)
        assert_one_line_error(result, "cannot write there (Permission denied)")
    assert list(locked.iterdir()) == []
