"""Training recipes: frozen dataclasses loaded from TOML files such as ``training/default.toml``."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topictag.errors import DataError

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


@dataclass(frozen=True)
class DecisionConfig:
    """How scores become calibrated probabilities and labels."""

    cv_folds: int = 3  # grouped folds for out-of-fold scores (calibration, thresholds)
    min_positives: int = 3  # labels with fewer training examples keep the default threshold
    default_threshold: float = 0.5  # on the calibrated probability
    at_least_one: bool | None = None  # None: on when no training paragraph is empty


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
        config = cls(seed=seed, **parts)
        if config.model.classifier not in CLASSIFIERS:
            raise DataError(
                f"[model] classifier must be one of {', '.join(CLASSIFIERS)}, "
                f"got {config.model.classifier!r}",
                source=source,
            )
        return config

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a copy with top-level fields replaced (e.g. ``seed=3``)."""
        return dataclasses.replace(self, **changes)


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
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise DataError(f"cannot read recipe: {exc.strerror}", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"invalid TOML: {exc}", source=str(path)) from None
    return TrainConfig.from_dict(data, source=str(path))


def load_search_space(path: str | Path) -> dict[str, dict[str, list[Any]]] | None:
    """Return a recipe file's ``[search]`` table (values ``--tune`` may try), if it has one.

    Each key lists the values to try, e.g. ``[search.model]`` ``C = [0.5, 1.0, 2.0]``;
    ``"none"`` stands for an unset value (TOML has no null).
    """
    try:
        with open(path, "rb") as handle:
            search = tomllib.load(handle).get("search")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read recipe: {exc}", source=str(path)) from None
    if not search:
        return None
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
                if value is not None:
                    _build(type(getattr(defaults, section)), {key: value}, f"{path}: [search]")
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
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = set(values) - set(fields)
    if unknown:
        raise DataError(f"{where} has unknown key {sorted(unknown)[0]!r}")
    defaults = kind()
    converted = {}
    for key, value in values.items():
        default = getattr(defaults, key)
        if isinstance(value, list):
            value = tuple(value)
        expected = type(default)
        if (
            default is not None
            and not isinstance(value, expected)
            and not (expected is float and isinstance(value, int) and not isinstance(value, bool))
        ):
            raise DataError(f"{where} {key} must be {expected.__name__}, got {value!r}")
        converted[key] = float(value) if expected is float else value
    return kind(**converted)


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
