"""Training recipes: frozen dataclasses loaded from TOML files such as ``training/default.toml``."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topictag.errors import DataError
from topictag.model.features import check_token_pattern

CLASSIFIERS = ("linear-svc", "logistic", "sgd")


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes TF-IDF features (scikit-learn's ``TfidfVectorizer`` parameters)."""

    ngram_range: tuple[int, int] = (1, 1)  # word n-grams: unigrams only
    min_df: int = 1  # drop terms seen in fewer paragraphs than this
    max_df: float = 1.0  # drop terms in more than this share of paragraphs
    max_features: int | None = None  # keep only the most frequent terms (None: all)
    sublinear_tf: bool = True  # 1 + log(tf): repeated words count less
    lowercase: bool = True
    token_pattern: str = r"(?u)\b\w\w+\b"  # a token is two or more word characters
    char_ngram_range: tuple[int, int] | None = None  # add char_wb n-grams, e.g. (2, 5)


@dataclass(frozen=True)
class ModelConfig:
    """The one-vs-rest linear classifier."""

    classifier: str = "linear-svc"  # one of CLASSIFIERS
    C: float = 1.0  # inverse regularization strength
    class_weight: str | None = None  # None or "balanced"
    max_iter: int = 2000
    nb_weights: bool = False  # scale features by naive Bayes log-count ratios per label (NBSVM)
    average_with: str | None = None  # a second classifier whose per-label model is averaged in


@dataclass(frozen=True)
class DecisionConfig:
    """How scores become calibrated probabilities and labels."""

    cv_folds: int = 3  # grouped folds for out-of-fold scores (calibration, thresholds)
    min_positives: int = 3  # labels with fewer training examples keep the default threshold
    default_threshold: float = 0.5  # on the calibrated probability
    threshold_shrinkage: float = 0.0  # pull rare labels' thresholds toward the default (k)
    at_least_one: bool | None = None  # None: on when no training paragraph is empty
    abstain: bool = True  # learn a no-topic head from the no-topic paragraphs (multi-label)


@dataclass(frozen=True)
class TrainConfig:
    """A complete training recipe."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    seed: int = 0  # drives fold assignment and any randomized solver

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as plain JSON/TOML-ready values."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> TrainConfig:
        """Build a recipe from nested dicts, rejecting unknown keys and wrong types."""
        sections = {"features": FeatureConfig, "model": ModelConfig, "decision": DecisionConfig}
        unknown = set(data) - set(sections) - {"seed", "search"}
        if unknown:
            raise DataError(f"unknown section or key {sorted(unknown)[0]!r}", source=source)
        parts: dict[str, Any] = {
            name: _build(kind, data.get(name, {}), f"{source}: [{name}]")
            for name, kind in sections.items()
        }
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise DataError(f"'seed' must be an integer, got {seed!r}", source=source)
        if not 0 <= seed < 2**32:
            raise DataError(f"'seed' must be between 0 and 2**32 - 1, got {seed}", source=source)
        config = cls(seed=seed, **parts)
        for key in ("classifier", "average_with"):
            value = getattr(config.model, key)
            if value is not None and value not in CLASSIFIERS:
                raise DataError(
                    f"[model] {key} must be one of {', '.join(CLASSIFIERS)}, got {value!r}",
                    source=source,
                )
        return config

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a copy with top-level fields replaced (e.g. ``seed=3``)."""
        return dataclasses.replace(self, **changes)


#: Recipe keys only in-memory training supports, and why; engines that stream call
#: :func:`streamable` to refuse them in one line.
IN_MEMORY_ONLY = {
    "nb_weights": "NB weights need each label's feature counts before its fit, a pass of their own",
    "average_with": "averaging fits a second model of each label",
}


def streamable(config: TrainConfig) -> str | None:
    """Return why a recipe cannot train by streaming (one line), or None when it can.

    Examples
    --------
    >>> streamable(TrainConfig()) is None
    True
    >>> streamable(TrainConfig(model=ModelConfig(nb_weights=True))).split(" (")[0]
    '[model] nb_weights = true cannot stream'
    """
    defaults = ModelConfig()
    for key, reason in IN_MEMORY_ONLY.items():
        value = getattr(config.model, key)
        if value != getattr(defaults, key):
            return (
                f"[model] {key} = {_toml_value(value)} cannot stream ({reason}); "
                "remove it or train in memory"
            )
    return None


def default_recipe() -> Path:
    """Return the path of the default recipe shipped in the package (``training/default.toml``)."""
    return Path(__file__).parents[1] / "recipes" / "default.toml"


def load_config(path: str | Path) -> TrainConfig:
    """Load a training recipe from a TOML file.

    Raises
    ------
    DataError
        If the file cannot be read, is not valid TOML, or sets an unknown or ill-typed key.
    """
    return TrainConfig.from_dict(_read_toml(path), source=str(path))


MAX_RECIPE_BYTES = 1 << 20  # a recipe is a few hundred bytes; anything this big is not one


def _read_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_RECIPE_BYTES + 1)
    except OSError as exc:
        raise DataError(f"cannot read recipe: {exc.strerror}", source=str(path)) from None
    if len(content) > MAX_RECIPE_BYTES:
        raise DataError(f"recipe larger than {MAX_RECIPE_BYTES} bytes", source=str(path))
    try:
        return tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not valid UTF-8 (byte 0x{content[exc.start]:02x} at offset {exc.start})",
            source=str(path),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"invalid TOML: {exc}", source=str(path)) from None


def load_search_space(path: str | Path) -> dict[str, dict[str, list[Any]]] | None:
    """Return a recipe file's ``[search]`` table (values ``--tune`` may try), if it has one.

    Each key lists the values to try, e.g. ``[search.model]`` ``C = [0.5, 1.0, 2.0]``;
    ``"none"`` stands for an unset value (TOML has no null).
    """
    search = _read_toml(path).get("search")
    if not search:
        return None
    if not isinstance(search, dict):
        raise DataError("[search] must be a table", source=str(path))
    defaults = TrainConfig()
    space: dict[str, dict[str, list[Any]]] = {}
    for section, keys in search.items():
        if section not in ("features", "model", "decision") or not isinstance(keys, dict):
            raise DataError(f"[search.{section}] is not a recipe section", source=str(path))
        for key, values in keys.items():
            if not isinstance(values, list) or not values:
                raise DataError(
                    f"[search.{section}] {key} must be a non-empty list of values", source=str(path)
                )
            options = [None if v == "none" else v for v in values]
            for value in options:
                _build(
                    type(getattr(defaults, section)), {key: value}, f"{path}: [search.{section}]"
                )
            space.setdefault(section, {})[key] = [
                tuple(v) if isinstance(v, list) else v for v in options
            ]
    return space


def dump_config(config: TrainConfig) -> str:
    """Render a recipe as TOML (the inverse of :func:`load_config`)."""
    lines = [f"seed = {config.seed}", ""]
    for section, values in config.to_dict().items():
        if not isinstance(values, dict):
            continue
        lines.append(f"[{section}]")
        lines += [
            f"{key} = {_toml_value(value)}" for key, value in values.items() if value is not None
        ]
        lines.append("")
    return "\n".join(lines)


def _build(kind: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise DataError(f"{where} must be a table")
    hints = typing.get_type_hints(kind)
    unknown = set(values) - set(hints)
    if unknown:
        raise DataError(f"{where} has unknown key {sorted(unknown)[0]!r}")
    converted = {}
    for key, value in values.items():
        ok, converted[key] = _conform(value, hints[key])
        if not ok:
            raise DataError(f"{where} {key} must be {_describe(hints[key])}, got {value!r}")
        problem = _out_of_range(key, converted[key])
        if problem:
            raise DataError(f"{where} {key}: {problem}, got {value!r}")
    return kind(**converted)


def _conform(value: Any, hint: Any) -> tuple[bool, Any]:
    """Check a TOML value against a field's type; return (ok, the value as the field holds it).

    TOML has no null: a field whose type allows None is unset by leaving its key out.
    """
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        for option in typing.get_args(hint):
            ok, converted = _conform(value, option)
            if ok:
                return True, converted
        return False, None
    if hint is type(None):
        return value is None, None
    if origin is tuple:
        parts = typing.get_args(hint)
        if not isinstance(value, list | tuple) or len(value) != len(parts):
            return False, None
        results = [_conform(v, h) for v, h in zip(value, parts, strict=True)]
        return all(ok for ok, _ in results), tuple(v for _, v in results)
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and math.isfinite(value), float(value) if number else None
    if hint is str:
        return isinstance(value, str), value
    raise TypeError(f"recipe field type {hint!r} has no TOML counterpart")  # a bug in this file


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        return " or ".join(_describe(h) for h in options) + " (or left out)"
    if origin is tuple:
        parts = typing.get_args(hint)
        kinds = {_describe(h) for h in parts}
        if len(kinds) == 1:
            return f"a list of {len(parts)} {kinds.pop().removeprefix('an ').removeprefix('a ')}s"
        return f"a list of {len(parts)} values"
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    return names.get(hint, str(hint))


MAX_NGRAM = 12  # the longest n-gram a bundle may hold (schemas/model.schema.json)


def _out_of_range(key: str, value: Any) -> str | None:
    """Our own bounds, for values scikit-learn accepts but a bundle or the runtime cannot serve."""
    if key in ("ngram_range", "char_ngram_range") and value is not None:
        low, high = value
        if not 1 <= low <= high <= MAX_NGRAM:
            return f"must be [low, high] with 1 <= low <= high <= {MAX_NGRAM}"
    if key == "token_pattern":
        if not value:
            return "must not be empty"
        try:
            check_token_pattern(value)
        except ValueError as exc:
            return str(exc)
        try:
            compiled = re.compile(value)
        except re.error as exc:  # parses, but does not compile (e.g. the (?t) flag)
            return f"token pattern is not a valid regular expression ({exc})"
        if compiled.groups > 1:
            return "has more than one capturing group (a token is the whole match or one group)"
    if key == "default_threshold" and not 0.0 <= value <= 1.0:
        return "must be a probability between 0 and 1"
    if key == "min_positives" and value < 0:
        return "must be 0 or more"
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)
