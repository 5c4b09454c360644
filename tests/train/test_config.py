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
        ('[model]\nC = "big"\n', r"C must be float"),
        ('[model]\nclassifier = "forest"\n', "classifier must be one of"),
        ("seed = 1.5\n", "'seed' must be an integer"),
        ("[model\n", "invalid TOML"),
    ],
)
def test_bad_recipes_are_explained(make_file, content, message):
    with pytest.raises(DataError, match=message):
        load_config(make_file("r.toml", content))


def test_missing_recipe_file(tmp_path):
    with pytest.raises(DataError, match="cannot read recipe"):
        load_config(tmp_path / "none.toml")


def test_the_packaged_recipe_is_the_repository_one():
    from tests.conftest import DEFAULT_RECIPE
    from topictag.train.recipe import default_recipe

    assert default_recipe().read_bytes() == DEFAULT_RECIPE.read_bytes()
