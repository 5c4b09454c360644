"""Splitting an article into paragraphs, and deriving article labels from paragraph scores.

The splitting rule, applied in order:

1. Line endings are normalized (``\\r\\n`` and ``\\r`` become ``\\n``).
2. If the text has a blank (or whitespace-only) line, paragraphs are separated by blank lines.
3. Otherwise, if some lines after the first start with an indent (space or tab) and others do
   not, the text is hard-wrapped wire copy: each indented line starts a new paragraph.
4. Otherwise every non-empty line is a paragraph.

Within a paragraph, wrapped lines are joined with single spaces. Then page furniture goes:

- lines that are never story text are dropped wherever they stand: photo, video and image
  credits and captions marked as such ("Photo: Reuters", "Image caption, ...", "(AFP/Getty
  Images)"), share and follow prompts, "Read more" and "Related" links, "Advertisement",
  navigation ("Skip to content", "Accessibility links", "Back to top"), "Listen to this article",
  "Topics:" and tag lines;
- bylines, datelines on their own line, agency sign-offs, wire credits, newsletter and
  subscription prompts and copyright lines are trimmed from the two ends only, since a short
  line in the middle of a story may be story text.

Article labels (multi-label models): a paragraph votes only if the model does not abstain on it
(its no-topic probability is below the model's abstain threshold, and it has a known n-gram), so
a caption or a share line that slipped through cannot decide an article's labels. An article's
probability for a label is the highest probability any voting paragraph has; with no voting
paragraph, it is the highest over all of them and the article, like its paragraphs, gets no
label. Models without a no-topic head let every paragraph with a known n-gram vote. "At least
one label" applies to the article as a whole. In a single-label model the article's
probabilities are the mean of its paragraphs' and its label is the most probable one.
"""

from __future__ import annotations

import re

import numpy as np

_INDENT = re.compile(r"^[ \t]+\S")
_BLANK = re.compile(r"\n[ \t]*\n")
_SPACES = re.compile(r"\s+")
_BOILERPLATE = re.compile(
    r"""^(?:
        (?-i:By\s+[A-Z][\w.'-]*(?:\s+(?:and\s+)?[A-Z][\w.'-]*){0,5})(?:,\s*[\w ]+)?  # byline
      | reuters?|ap|afp                              # agency sign-off
      | \(?(?:reporting|writing|editing)\s+by\b.*    # wire credits
      | (?:click|tap)\s+here\b.*
      | read\s+(?:more|the\s+full\s+story)\b.*
      | sign\s+up\b.*|subscribe\b.*|advertisement|share\s+this\b.*
      | (?:\(c\)|©|copyright\b).*|all\s+rights\s+reserved\.?
      | [A-Z][\w ,.'-]{0,40}\s\((?:reuters|ap|afp)\)\s*[-\u2013\u2014]?\s*   # dateline alone
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_BOILERPLATE_MAX_WORDS = 12
_FURNITURE = re.compile(
    r"""^(?:
        (?:photo(?:graph)?s?|pictures?|images?|video|watch|graphic|illustration|file\s+photo)
            \s*(?:[:|,]|caption|source|credit).*                          # credits, captions
      | (?:image|photo)\s+(?:caption|source|credit)\b.*
      | \(?(?:photo|image)\s+by\b.*
      | \((?:reuters|ap|afp|epa|getty(?:\s+images)?|ap\s+photo)[^)]{0,60}\)\.?  # "(AFP/Getty)"
      | share(?:\s+(?:this|on|via|article|story|page)\b.*|\s*:?)
      | (?:follow\s+us|like\s+us)\b.*
      | read\s+more\s*:.*|related(?:\s+(?:coverage|stories|articles|topics|content))?\s*:.*
      | (?:more\s+on\s+this\s+story|most\s+(?:read|viewed|popular))\b.*
      | advertisement\b.*|skip\s+to\s+(?:main\s+)?content|accessibility\s+links
      | back\s+to\s+top|listen\s+to\s+this\s+article\b.*|topics?\s*:.*|tags?\s*:.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def split_paragraphs(text: str) -> list[str]:
    """Split an article into paragraphs by the rule in this module's docstring.

    Examples
    --------
    >>> split_paragraphs("By Ana Ruiz\\n\\nTalks resumed.\\nBoth sides met.\\n\\nRead more")
    ['Talks resumed. Both sides met.']
    >>> split_paragraphs("TITLE\\n    First line\\nwrapped.\\n    Second.")
    ['TITLE', 'First line wrapped.', 'Second.']
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _BLANK.search(text):
        blocks = _BLANK.split(text)
    else:
        lines = [line for line in text.split("\n") if line.strip()]
        indented = [bool(_INDENT.match(line)) for line in lines]
        if any(indented[1:]) and not all(indented[1:]):
            blocks = []
            current: list[str] = []
            for line, starts in zip(lines, indented, strict=True):
                if starts and current:
                    blocks.append("\n".join(current))
                    current = []
                current.append(line)
            blocks.append("\n".join(current))
        else:
            blocks = lines
    paragraphs = [_SPACES.sub(" ", block).strip() for block in blocks]
    paragraphs = [p for p in paragraphs if p and not is_furniture(p)]
    start, end = 0, len(paragraphs)
    while start < end and is_boilerplate(paragraphs[start]):
        start += 1
    while end > start and is_boilerplate(paragraphs[end - 1]):
        end -= 1
    return paragraphs[start:end]


def is_boilerplate(paragraph: str) -> bool:
    """Return True for a short paragraph that is page furniture rather than content."""
    return len(paragraph.split()) <= _BOILERPLATE_MAX_WORDS and bool(
        _BOILERPLATE.match(paragraph.strip())
    )


def is_furniture(paragraph: str) -> bool:
    """Return True for a short line that is never story text (a credit, a share prompt...)."""
    return len(paragraph.split()) <= _BOILERPLATE_MAX_WORDS * 2 and bool(
        _FURNITURE.match(paragraph.strip())
    )


def article_probabilities(
    paragraph_proba: np.ndarray, *, single_label: bool, voting: np.ndarray | None = None
) -> np.ndarray:
    """Combine paragraph probabilities (n_paragraphs, n_labels) into the article's (n_labels,).

    ``voting`` marks the paragraphs that may decide a multi-label article's labels (see the
    module docstring); all of them when omitted, or when none votes.
    """
    if paragraph_proba.shape[0] == 0:
        return np.zeros(paragraph_proba.shape[1])
    if single_label:
        return paragraph_proba.mean(axis=0)
    if voting is not None and np.any(voting):
        return paragraph_proba[np.asarray(voting, dtype=bool)].max(axis=0)
    return paragraph_proba.max(axis=0)
