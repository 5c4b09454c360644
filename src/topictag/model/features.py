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

    Parameters
    ----------
    view : View

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
    if view.token_pattern in DEFAULT_TOKEN_PATTERNS:
        tokenize = _default_tokenizer(findall, lower=lower)
    else:

        def tokenize(text: str) -> list[str]:
            return findall(text.lower() if lower else text)

    if hi == 1:
        return tokenize
    join = " ".join

    def word(text: str) -> list[str]:
        tokens = tokenize(text)
        count = len(tokens)
        grams = tokens[:] if lo == 1 else []
        for n in range(max(lo, 2), min(hi, count) + 1):
            grams += map(join, zip(*(tokens[k:] for k in range(n)), strict=False))
        return grams

    return word


def term_index(view: View, vocabulary: list[str]) -> dict[str, int]:
    """Map each term of a view's vocabulary to its position.

    Terms the view's analyzer never produces are left out: with scikit-learn's token pattern,
    one-character words.
    """
    index = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
    default = view.analyzer == "word" and view.token_pattern in DEFAULT_TOKEN_PATTERNS
    if default and vocabulary and min(map(len, vocabulary)) < 2:
        for term in [t for t in vocabulary if len(t) < 2]:
            index.pop(term, None)
    return index


def _default_tokenizer(
    findall: Callable[[str], list[str]], *, lower: bool
) -> Callable[[str], list[str]]:
    """Tokenize as ``(?u)\\b\\w\\w+\\b`` does, ASCII text without the regex engine.

    In ASCII text the pattern's tokens are the runs of ``[A-Za-z0-9_]`` of two or more
    characters: one byte-table ``translate`` turns every other byte into a space (and
    lowercases), and ``split`` cuts the runs, about three times faster than ``findall``.
    """
    table = _ASCII_LOWER if lower else _ASCII_KEEP

    def tokenize(text: str) -> list[str]:
        if not text.isascii():
            return findall(text.lower() if lower else text)
        tokens = text.encode("ascii").translate(table).decode("ascii").split()
        return [t for t in tokens if len(t) > 1]

    return tokenize


def _ascii_table(*, lower: bool) -> bytes:
    """A ``bytes.translate`` table: word characters kept (or lowercased), the rest spaces."""
    table = bytearray(b" " * 256)
    for code in range(128):
        char = chr(code)
        if char.isalnum() or char == "_":
            table[code] = ord(char.lower() if lower else char)
    return bytes(table)


DEFAULT_TOKEN_PATTERNS = (r"(?u)\b\w\w+\b", r"\b\w\w+\b")  # scikit-learn's, with or without (?u)
_ASCII_LOWER = _ascii_table(lower=True)
_ASCII_KEEP = _ascii_table(lower=False)
