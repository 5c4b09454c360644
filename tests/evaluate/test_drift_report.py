from __future__ import annotations

from html.parser import HTMLParser

from topictag.evaluate.drift_report import format_drift, render_drift_html
from topictag.model.drift import monitor_texts
from topictag.model.inference import load_model
from topictag.model.shift import compare

TEXTS = ["Les prix du pétrole ont reculé <jeudi>.", "Troops shelled the town & fled."] * 5


def report(tiny_model, reference=True):
    model = load_model(tiny_model)
    stats = monitor_texts(model, [TEXTS]).statistics()
    return compare(stats, model.manifest["drift"] if reference else None, model.labels)


def test_text_names_the_number_and_what_moved(tiny_model):
    text = format_drift(report(tiny_model))
    first = text.splitlines()[0]
    assert first.startswith("drift: ") and first.endswith("over 10 paragraph(s)")
    assert "known-token share: " in text and "(reference " in text and "PSI" in text
    assert "new terms: " in text and "prix (5)" in text
    bare = format_drift(report(tiny_model, reference=False))
    assert bare.startswith("drift: unknown") and "cannot compute:" in bare


def test_html_is_escaped_and_well_formed(tiny_model):
    page = render_drift_html(report(tiny_model), title="Drift <of> x")
    assert "<title>Drift &lt;of&gt; x</title>" in page and "<jeudi>" not in page

    class Checker(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []
            self.rects = 0

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.stack.append(tag)
            self.rects += tag == "rect"

        def handle_endtag(self, tag):
            assert self.stack.pop() == tag

    checker = Checker()
    checker.feed(page)
    assert checker.stack == [] and checker.rects == 40  # 2 charts x 10 bins x 2 series
