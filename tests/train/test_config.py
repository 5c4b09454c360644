from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_RECIPE
from topictag.errors import DataError
from topictag.train.recipe import TrainConfig, dump_config, load_config


def test_default_recipe_loads_and_round_trips(tmp_path):
    config = load_config(DEFAULT_RECIPE)
    assert config.features.ngram_range == (1, 1)
    path = tmp_path / "again.toml"
    path.write_text(dump_config(config))
    assert load_config(path) == config


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
        ("seed = -1\n", r"'seed' must be between 0 and 2\*\*32 - 1"),
        ('[model]\nclassifier = "forest"\n', "classifier must be one of"),
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
        ('[model]\nclassifier = "sgd"\nmax_iter = 0\n', r"max_iter: .*SGDClassifier"),
        ("[decision]\ncv_folds = 1\n", r"^r\.toml: \[decision\] cv_folds: k-fold cross-valid"),
        (
            "[search.model]\nC = [1.0, -2.0]\n",
            r"^r\.toml: \[search\.model\] C = -2\.0: \[model\] C: must be a float in the",
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
