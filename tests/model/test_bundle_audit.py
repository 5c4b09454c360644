"""Bundles are untrusted: every edit, oversized member and odd file is refused, in one line."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from topictag.cli.application import app
from topictag.errors import ModelError
from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle, read_manifest
from topictag.model.features import check_token_pattern
from topictag.model.inference import Model
from topictag.model.manifest import (
    ManifestProblem,
    check_manifest,
    integrity_of,
    manifest_schema,
)


@pytest.fixture
def bundle(trained, tmp_path) -> Path:
    path = tmp_path / "bundle"
    shutil.copytree(trained.path, path)
    return path


def _edit(bundle: Path, change, *, rehash: bool = False) -> None:
    manifest = json.loads((bundle / MANIFEST).read_text())
    change(manifest)
    if rehash:
        manifest["integrity"] = integrity_of(manifest)
    (bundle / MANIFEST).write_text(json.dumps(manifest))


def _rewrite_weights(bundle: Path, arrays: dict[str, np.ndarray], extra: bytes | None = None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            archive.writestr(f"{name}.npy", member.getvalue())
        if extra is not None:
            archive.writestr("padding.npy", extra)
    (bundle / WEIGHTS).write_bytes(buffer.getvalue())

    def fix(m):
        m["weights"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()

    _edit(bundle, fix, rehash=True)


def test_swapped_label_names_are_refused(bundle):
    def swap(m):
        m["labels"][0], m["labels"][1] = m["labels"][1], m["labels"][0]

    _edit(bundle, swap)
    with pytest.raises(ModelError, match=r"model.json: integrity: the manifest does not match"):
        load_bundle(bundle)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(mode="multi-lable"), r"mode: must be one of .*got \"multi-lable\""),
        (lambda m: m["views"][0].update(analyzer="regex"), r"views\.0\.analyzer: must be one of"),
        (lambda m: m.update(views={"a": 1}), r"views: must be a list, got an object"),
        (lambda m: m.update(labels=["x", "x"]), r"labels\.1: repeats \"x\""),
        (lambda m: m.update(at_least_one="yes"), r"at_least_one: must be a boolean"),
        (lambda m: m.pop("weights"), r"weights: missing"),
        (lambda m: m.update(thresholds={"x": 0.5}), r"thresholds: unknown field"),
        (lambda m: m["views"][0].update(ngram_range=[3, 1]), r"views\.0\.ngram_range: 3 is more"),
        (
            lambda m: m["views"][0].update(token_pattern="(a+)+$"),
            r"views\.0\.token_pattern: token pattern nests a repeat",
        ),
    ],
)
def test_schema_breaks_are_refused_with_the_field(bundle, change, message):
    _edit(bundle, change, rehash=True)  # even with every hash fixed up
    with pytest.raises(ModelError, match=r"bundle/model.json: " + message):
        load_bundle(bundle)


def test_a_huge_unused_member_is_refused_before_decompression(bundle):
    arrays = dict(load_bundle(bundle).arrays())
    _rewrite_weights(bundle, arrays, extra=b"\0" * (64 << 20))  # compresses to ~64 KB
    with pytest.raises(ModelError, match=r"weights.npz: unexpected member 'padding.npy'"):
        load_bundle(bundle)


def test_a_member_claiming_a_huge_shape_is_refused_from_its_header(bundle):
    arrays = dict(load_bundle(bundle).arrays())
    arrays["coef"] = np.zeros((1_000_000, arrays["coef"].shape[1]))  # 100 MB of zeros
    _rewrite_weights(bundle, arrays)
    with pytest.raises(ModelError, match=r"weights.npz: coef: shape \(1000000, "):
        load_bundle(bundle)


def test_non_finite_weights_are_refused(bundle):
    arrays = dict(load_bundle(bundle).arrays())
    arrays["intercept"] = arrays["intercept"].copy()
    arrays["intercept"][0] = np.nan
    _rewrite_weights(bundle, arrays)
    with pytest.raises(ModelError, match=r"intercept: holds NaN"):
        load_bundle(bundle)


def test_a_fifo_or_a_device_as_weights_is_refused_without_hanging(bundle):
    (bundle / WEIGHTS).unlink()
    os.mkfifo(bundle / WEIGHTS)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"weights.npz: not a regular file \(a FIFO\)"):
        load_bundle(bundle)
    assert time.monotonic() - started < 5
    (bundle / WEIGHTS).unlink()
    (bundle / WEIGHTS).symlink_to("/dev/zero")
    with pytest.raises(ModelError, match=r"weights.npz: not a regular file \(a device\)"):
        load_bundle(bundle)


def test_a_bundle_reached_through_a_symlink_loads(trained, tmp_path):
    (tmp_path / "link").symlink_to(trained.path, target_is_directory=True)
    assert load_bundle(tmp_path / "link").labels == load_bundle(trained.path).labels


def test_version_1_is_refused_naming_upgrade_and_upgrade_converts_it(trained, tmp_path):
    runner = CliRunner()
    v1 = tmp_path / "old"
    shutil.copytree(trained.path, v1)
    manifest = json.loads((v1 / MANIFEST).read_text())
    data = load_bundle(trained.path)
    manifest["format_version"] = 1
    manifest["thresholds"] = dict(zip(data.labels, data.thresholds.tolist(), strict=True))
    del manifest["integrity"]
    (v1 / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"version 1 .*topictag models upgrade .*old"):
        load_bundle(v1)
    result = runner.invoke(app, ["models", "upgrade", str(v1)])
    assert result.exit_code == 0, result.output
    upgraded = load_bundle(v1)
    assert (upgraded.coef == data.coef).all()
    assert (upgraded.thresholds == data.thresholds).all()
    result = runner.invoke(app, ["models", "verify", str(v1)])
    assert result.exit_code == 0
    assert "a valid topictag bundle" in result.output
    assert "integrity: the manifest's hash matches" in result.output


def test_verify_reports_the_problem_in_one_line(bundle):
    _edit(bundle, lambda m: m.update(mode="multi-lable"), rehash=True)
    result = CliRunner().invoke(app, ["models", "verify", str(bundle)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith('got "multi-lable"'), result.output


def test_the_shipped_model_passes_the_audit_and_read_manifest_needs_no_weights(bundle):
    (bundle / WEIGHTS).unlink()
    assert read_manifest(bundle)["format_version"] == 2


@pytest.mark.parametrize("pattern", [r"(\w+\s?)*$", r"(a|aa)*b", r"(?<=x)\w+", r"(\w)\1"])
def test_dangerous_token_patterns_are_refused(pattern):
    with pytest.raises(ValueError, match="token pattern"):
        check_token_pattern(pattern)


def test_the_default_token_pattern_is_safe_and_builds(trained):
    check_token_pattern(r"(?u)\b\w\w+\b")
    assert Model(load_bundle(trained.path)).predict(["Talks resumed."]) is not None


# ---- the stdlib checker agrees with jsonschema on arbitrary manifests

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**9) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _mutations(base: dict) -> st.SearchStrategy[dict]:
    keys = [*sorted(base), "extra"]

    def apply(edits):
        manifest = json.loads(json.dumps(base))
        for key, value, nested in edits:
            if nested and isinstance(manifest.get(key), dict) and manifest[key]:
                inner = sorted(manifest[key])[0]
                manifest[key][inner] = value
            elif value is None and key in manifest:
                del manifest[key]
            else:
                manifest[key] = value
        return manifest

    return st.lists(st.tuples(st.sampled_from(keys), _json, st.booleans()), max_size=3).map(apply)


@pytest.fixture(scope="module")
def base_manifest(trained):
    return json.loads((trained.path / MANIFEST).read_text())


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_stdlib_checker_agrees_with_jsonschema(base_manifest, data):
    import jsonschema

    manifest = data.draw(_mutations(base_manifest))
    validator = jsonschema.Draft202012Validator(manifest_schema())
    expected_valid = validator.is_valid(manifest)
    try:
        check_manifest(manifest)
        ours = True
    except ManifestProblem:
        ours = False
    assert ours == expected_valid, manifest


def test_the_schema_itself_is_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(manifest_schema())
