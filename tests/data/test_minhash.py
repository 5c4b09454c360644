from __future__ import annotations

from topictag.data.minhash import fingerprints

TEXT = "Envoys met in Geneva to revive talks between the two governments"


def test_fingerprints_of_separate_calls_compare():
    one = fingerprints([TEXT + "."])
    other = fingerprints(["Oil prices rose sharply.", TEXT + " today.", "Rain at the weekend."])
    assert one.near(0, other, 1)  # 9 of 10 shingles shared
    assert not one.near(0, other, 0)
    assert (one.bands[0] == other.bands[1]).sum() >= 1  # an LSH candidate


def test_texts_without_words_are_never_near():
    f = fingerprints(["", "!!!", TEXT])
    assert len(f.sets[0]) == 0 and not f.near(0, f, 1)
    assert f.near(2, f, 2)
