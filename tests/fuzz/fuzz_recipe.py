"""Fuzz recipes: ``load_config``, ``load_search_space`` and scikit-learn's checks on any bytes."""

from __future__ import annotations

from tests.fuzz.harness import check_error, instrumented, main, scratch

with instrumented():
    from topictag.train.bridge import check_recipe
    from topictag.train.recipe import dump_config, load_config, load_search_space


def test_one_input(data: bytes) -> None:
    path = scratch("recipe.toml", data)
    try:
        config = load_config(path)
        check_recipe(config, source=str(path), space=load_search_space(path))
    except Exception as error:
        check_error(error, path)
        return
    again = scratch("again.toml", dump_config(config).encode("utf-8"))
    if load_config(again) != config:
        raise AssertionError("a recipe dumped and loaded again differs")


if __name__ == "__main__":
    main(test_one_input)
