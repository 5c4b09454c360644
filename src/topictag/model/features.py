"""Turning text into terms in pure Python, exactly as the training side's scikit-learn does.

Training uses scikit-learn's ``TfidfVectorizer`` (:mod:`topictag.train.features`); serving uses
:func:`build_analyzer`, which reproduces the vectorizer's preprocessing, tokenization and n-gram
rules, so that a bundle can be served without importing scikit-learn. The tests hold the two to
the same output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_WHITE_SPACES = re.compile(r"\s\s+")
MAX_PATTERN_LENGTH = 200


@dataclass(frozen=True)
class View:
    """One block of features: word n-grams or character n-grams within word boundaries."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    lowercase: bool = True
    token_pattern: str = r"(?u)\b\w\w+\b"
    sublinear_tf: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return the view's parameters as JSON-ready values."""
        return {
            "analyzer": self.analyzer,
            "ngram_range": list(self.ngram_range),
            "lowercase": self.lowercase,
            "token_pattern": self.token_pattern,
            "sublinear_tf": self.sublinear_tf,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> View:
        """Inverse of :meth:`to_dict`."""
        lo, hi = data["ngram_range"]
        return cls(
            analyzer=str(data["analyzer"]),
            ngram_range=(int(lo), int(hi)),
            lowercase=bool(data["lowercase"]),
            token_pattern=str(data["token_pattern"]),
            sublinear_tf=bool(data["sublinear_tf"]),
        )


def check_token_pattern(pattern: str) -> None:
    """Refuse a token pattern that could backtrack catastrophically, or that is not a regex.

    Patterns travel inside bundles, so they are untrusted. The safe set: no backreferences, no
    lookarounds or conditionals, and no repeat with an unbounded maximum whose body holds
    another repeat or an alternation (the shapes behind exponential backtracking, such as
    ``(a+)+`` or ``(a|aa)*``). scikit-learn's default ``(?u)\\b\\w\\w+\\b`` is in it.

    Raises
    ------
    ValueError
        Saying what is wrong with the pattern.
    """
    import re._parser as parser  # the standard library's own regex parser (sre_parse)

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"token pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        tree = parser.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"token pattern is not a valid regular expression ({exc})") from None
    _check_tree(tree, inside_unbounded=False, parser=parser)
    try:  # some patterns parse but do not compile (the TEMPLATE flag, for one)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise ValueError(f"token pattern is not a valid regular expression ({exc})") from None


def _check_tree(tree: Any, *, inside_unbounded: bool, parser: Any) -> None:
    c = parser._constants if hasattr(parser, "_constants") else parser
    unsafe = {c.GROUPREF, c.GROUPREF_EXISTS, c.ASSERT, c.ASSERT_NOT}
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)}
    for op, argument in tree:
        if op in unsafe:
            raise ValueError("token pattern uses a backreference, lookaround or conditional")
        if op in repeats:
            _low, high, body = argument
            if inside_unbounded:
                raise ValueError("token pattern nests a repeat inside an unbounded repeat")
            _check_tree(body, inside_unbounded=high == c.MAXREPEAT, parser=parser)
        elif op == c.BRANCH:
            if inside_unbounded:
                raise ValueError("token pattern repeats an alternation without bound")
            for branch in argument[1]:
                _check_tree(branch, inside_unbounded=False, parser=parser)
        elif op == c.SUBPATTERN:
            _check_tree(argument[-1], inside_unbounded=inside_unbounded, parser=parser)
        elif op == c.ATOMIC_GROUP if hasattr(c, "ATOMIC_GROUP") else False:
            _check_tree(argument, inside_unbounded=inside_unbounded, parser=parser)


def build_analyzer(view: View) -> Callable[[str], list[str]]:
    """Return a function mapping a text to its list of terms, as scikit-learn would.

    Examples
    --------
    >>> analyze = build_analyzer(View("word", (1, 2)))
    >>> analyze("Talks on Abkhazia, again.")
    ['talks', 'on', 'abkhazia', 'again', 'talks on', 'on abkhazia', 'abkhazia again']
    """
    lo, hi = view.ngram_range
    lower = view.lowercase
    if view.analyzer == "char_wb":

        def char_wb(text: str) -> list[str]:
            if lower:
                text = text.lower()
            text = _WHITE_SPACES.sub(" ", text)
            grams: list[str] = []
            append = grams.append
            for word in text.split():
                w = " " + word + " "
                size = len(w)
                for n in range(lo, hi + 1):
                    offset = 0
                    append(w[offset : offset + n])
                    while offset + n < size:
                        offset += 1
                        append(w[offset : offset + n])
                    if offset == 0:
                        break
            return grams

        return char_wb
    if view.analyzer != "word":
        raise ValueError(f"unknown analyzer {view.analyzer!r}")
    check_token_pattern(view.token_pattern)
    findall = re.compile(view.token_pattern).findall

    def word(text: str) -> list[str]:
        tokens: list[str] = findall(text.lower() if lower else text)
        if hi == 1:
            return tokens
        count = len(tokens)
        grams = list(tokens) if lo == 1 else []
        join = " ".join
        for n in range(max(lo, 2), min(hi, count) + 1):
            grams += [join(tokens[i : i + n]) for i in range(count - n + 1)]
        return grams

    return word
