from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import DEFAULT_RECIPE
from tests.strategies import BYTES, PROPERTY, assert_located
from topictag.errors import DataError
from topictag.train.recipe import TrainConfig, dump_config, load_config


def test_default_recipe_loads_and_round_trips(tmp_path):
    config = load_config(DEFAULT_RECIPE)
    assert config.features.ngram_range == (1, 1)
    path = tmp_path / "again.toml"
    path.write_text(dump_config(config))
    assert load_config(path) == config


def test_nb_weights_and_averaging_are_recipe_keys_that_refuse_to_stream(make_file):
    from topictag.train.recipe import streamable

    config = load_config(
        make_file("r.toml", '[model]\nnb_weights = true\naverage_with = "logistic"\n')
    )
    assert config.model.nb_weights and config.model.average_with == "logistic"
    assert streamable(TrainConfig()) is None
    reason = streamable(config)
    assert reason is not None and "\n" not in reason
    assert reason.startswith("[model] nb_weights = true cannot stream (NB weights need")
    only_average = load_config(make_file("a.toml", '[model]\naverage_with = "sgd"\n'))
    assert streamable(only_average).startswith('[model] average_with = "sgd" cannot stream')


def test_missing_keys_take_defaults(make_file):
    config = load_config(make_file("r.toml", "[model]\nC = 2\n"))
    assert config.model.C == 2.0 and config.features == TrainConfig().features


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[modle]\nC = 1\n", "unknown section or key 'modle'"),
        ("[model]\nCC = 1\n", r"\[model\] has unknown key 'CC'"),
        ('[model]\nC = "big"\n', r"C must be a finite number, got 'big'"),
        ("[model]\nC = nan\n", r"C must be a finite number, got nan"),
        ("[model]\nC = true\n", r"C must be a finite number, got True"),
        ("[model]\nclass_weight = 3\n", r"class_weight must be a string \(or left out\)"),
        ("[features]\nmax_features = 1.5\n", r"max_features must be an integer \(or left out\)"),
        ('[features]\nngram_range = [1, "2"]\n', r"ngram_range must be a list of 2 integers"),
        ("[features]\nngram_range = [1, 2, 3]\n", r"ngram_range must be a list of 2 integers"),
        ("[features]\nchar_ngram_range = [2.0, 4]\n", r"char_ngram_range must be a list of 2"),
        ("[features]\nchar_ngram_range = [0, 4]\n", r"char_ngram_range: must be \[low, high\]"),
        ("[features]\nngram_range = [1, 13]\n", r"1 <= low <= high <= 12"),
        ("[features]\nngram_range = [2, 1]\n", r"ngram_range: must be \[low, high\]"),
        ("[decision]\nat_least_one = 1\n", r"at_least_one must be true or false \(or left"),
        ("[decision]\ndefault_threshold = 1.5\n", r"default_threshold: must be a probability"),
        ("[features]\nlowercase = 0\n", r"lowercase must be true or false, got 0"),
        ("[features]\ntoken_pattern = '(\\w+)+'\n", r"token_pattern: token pattern nests a repeat"),
        ("[features]\ntoken_pattern = '(a)(b)'\n", r"token_pattern: has more than one capturing"),
        ("[features]\ntoken_pattern = '['\n", r"token_pattern: token pattern is not a valid"),
        # found by `make fuzz` (recipe): parses, but re.compile refuses the template flag
        ("[features]\ntoken_pattern = '(?t)\\w\\w+'\n", r"token_pattern: .* not a valid"),
        ("seed = -1\n", r"'seed' must be between 0 and 2\*\*32 - 1"),
        ('[model]\nclassifier = "forest"\n', "classifier must be one of"),
        ('[model]\naverage_with = "forest"\n', r"\[model\] average_with must be one of linear-svc"),
        ("[model]\nnb_weights = 1\n", r"nb_weights must be true or false, got 1"),
        ("seed = 1.5\n", "'seed' must be an integer"),
        ("[model\n", "invalid TOML"),
    ],
)
def test_bad_recipes_are_explained(make_file, content, message):
    with pytest.raises(DataError, match=message):
        load_config(make_file("r.toml", content))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[features]\nmin_df = 0\n",
            r"^r\.toml: \[features\] min_df: must be a float in the range \[0\.0, 1\.0\] or an "
            r"int in the range \[1, inf\), got 0 \(scikit-learn's TfidfVectorizer\)$",
        ),
        ("[features]\nmax_df = 1.5\n", r"^r\.toml: \[features\] max_df: must be a float in"),
        ("[features]\nmax_features = 0\n", r"^r\.toml: \[features\] max_features: must be an"),
        ("[model]\nC = 0\n", r"^r\.toml: \[model\] C: must be a float in the range \(0\.0, inf"),
        ('[model]\nclassifier = "logistic"\nC = -1\n', r"\[model\] C: .*LogisticRegression"),
        ('[model]\nclassifier = "sgd"\nC = 0\n', r"\[model\] C: must be above 0 .*SGDClass"),
        ('[model]\nclass_weight = "heavy"\n', r"\[model\] class_weight: must be None, an"),
        ("[model]\nmax_iter = -1\n", r"\[model\] max_iter: must be an int in the range"),
        ('[model]\naverage_with = "sgd"\nC = 0\n', r"\[model\] C: must be above 0 .*SGDClass"),
        ('[model]\nclassifier = "sgd"\nmax_iter = 0\n', r"max_iter: .*SGDClassifier"),
        ("[decision]\ncv_folds = 1\n", r"^r\.toml: \[decision\] cv_folds: k-fold cross-valid"),
        (
            "[search.model]\nC = [1.0, -2.0]\n",
            r"^r\.toml: \[search\.model\] C = -2\.0: \[model\] C: must be a float in the",
        ),
        # names in a [search] table are checked too (the recipe's own are, by load_config)
        (
            '[search.model]\naverage_with = ["logistic", "forest"]\n',
            r"^r\.toml: \[search\.model\] average_with = 'forest': \[model\] average_with: "
            r"must be a str among .* or None, got 'forest' \(scikit-learn's TopicClassifier\)$",
        ),
        (
            '[search.model]\nclassifier = ["forest"]\n',
            r"^r\.toml: \[search\.model\] classifier = 'forest': \[model\] classifier: must",
        ),
    ],
)
def test_values_scikit_learn_refuses_name_the_file_and_key(make_file, content, message):
    from topictag.train.bridge import check_recipe
    from topictag.train.recipe import load_search_space

    path = make_file("r.toml", content)
    config = load_config(path)
    with pytest.raises(DataError, match=message) as caught:
        check_recipe(config, source="r.toml", space=load_search_space(path))
    assert "\n" not in str(caught.value)


def test_every_default_value_passes_scikit_learn(make_file):
    from topictag.train.bridge import check_recipe
    from topictag.train.recipe import MAX_NGRAM
    from topictag.train.tuning import SEARCH_SPACE

    check_recipe(load_config(DEFAULT_RECIPE), source="default.toml", space=SEARCH_SPACE)
    import json

    from tests.conftest import ROOT

    schema = json.loads((ROOT / "src/topictag/schemas/model.schema.json").read_text())
    assert f'"maximum": {MAX_NGRAM}' in json.dumps(schema)  # recipes train what bundles hold


def test_missing_recipe_file(tmp_path):
    with pytest.raises(DataError, match="cannot read recipe"):
        load_config(tmp_path / "none.toml")


def test_the_packaged_recipe_is_the_repository_one():
    from tests.conftest import DEFAULT_RECIPE
    from topictag.train.recipe import default_recipe

    assert default_recipe().read_bytes() == DEFAULT_RECIPE.read_bytes()


def _toml(value) -> str:
    """Render a generated value as TOML (strings via JSON, whose escapes TOML shares)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if value != value
            else "inf"
            if value == float("inf")
            else ("-inf" if value == float("-inf") else repr(value))
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


KEYS = {
    "features": ["ngram_range", "min_df", "max_df", "max_features", "sublinear_tf", "lowercase",
                 "token_pattern", "char_ngram_range", "other"],
    "model": ["classifier", "C", "class_weight", "max_iter", "other"],
    "decision": ["cv_folds", "min_positives", "default_threshold", "at_least_one"],
}  # fmt: skip
TOML_VALUES = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["none", "balanced", "sgd", "logistic", r"(?u)\b\w+\b", "(a+)+", "["]),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)
SECTIONS = {
    section: st.dictionaries(st.sampled_from(keys), TOML_VALUES, max_size=3)
    for section, keys in KEYS.items()
}
TOP = st.dictionaries(st.sampled_from(["seed", "search", "model", "x"]), TOML_VALUES, max_size=2)
SEARCH = st.dictionaries(
    st.sampled_from(["model", "features", "x"]),
    st.dictionaries(st.sampled_from(KEYS["model"] + KEYS["features"]), TOML_VALUES, max_size=2),
    max_size=2,
)
RECIPES = st.fixed_dictionaries({"top": TOP, **SECTIONS, "search": SEARCH})


def _recipe_text(recipe) -> str:
    lines = [f"{k} = {_toml(v)}" for k, v in recipe["top"].items()]
    for section, values in recipe.items():
        if section == "top" or section in recipe["top"]:
            continue
        if section == "search":
            for sub, keys in values.items():
                lines.append(f"[search.{sub}]")
                lines += [f"{k} = {_toml(v)}" for k, v in keys.items()]
            continue
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


@PROPERTY
@given(content=RECIPES.map(_recipe_text).map(str.encode) | BYTES)
def test_any_recipe_gives_a_config_or_one_located_line(tmp_path_factory, content):
    from topictag.train.bridge import check_recipe
    from topictag.train.recipe import load_search_space

    path = tmp_path_factory.mktemp("r") / "r.toml"
    path.write_bytes(content)
    try:
        config = load_config(path)
        space = load_search_space(path)
        check_recipe(config, source=str(path), space=space)
    except Exception as error:
        assert_located(error, str(path))
        return
    assert load_config(path) == config  # and it is what the file says, every time
    again = path.with_name("again.toml")
    again.write_text(dump_config(config))
    assert load_config(again) == config
