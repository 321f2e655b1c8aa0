"""The hand-written label examples: every bundled label described, new text, apart from the out-of-corpus set."""

import collections

from data import bundled, label_examples, out_of_corpus
from test_out_of_corpus import _comparable


def test_every_bundled_label_has_twenty_examples_in_both_styles():
    examples = label_examples.load()
    counts = collections.Counter(s.label for s in examples)
    assert set(counts) == set(bundled.BUNDLED_LABELS) and min(counts.values()) >= 20
    assert {s.style for s in examples} == set(out_of_corpus.STYLES)
    assert all(s.text.strip() == s.text and s.text for s in examples)


def test_loading_only_the_configured_labels():
    assert {s.label for s in label_examples.load(["food", "money"])} == {"food", "money"}
    assert label_examples.load(["no_such_label"]) == []


def test_no_example_is_an_out_of_corpus_sentence_a_corpus_line_or_repeated():
    examples = [_comparable(s.text) for s in label_examples.load()]
    assert [text for text, n in collections.Counter(examples).items() if n > 1] == []
    held_apart = {_comparable(s.text) for s in out_of_corpus.load()} | {
        _comparable(line) for line in bundled.corpus_lines()}
    assert [text for text in examples if text in held_apart] == []


def test_no_example_is_a_rewording_of_an_english_out_of_corpus_sentence():
    """At most 60% of the words in common (Jaccard) with any English test sentence: the examples say what a label
    means in their own words, so the out-of-corpus set stays a test (the closest pair today shares 55%)."""
    tests = [set(_comparable(s.text).split()) for s in out_of_corpus.load(["en"])]
    overlaps = {}
    for example in label_examples.load():
        words = set(_comparable(example.text).split())
        overlaps[example.text] = max(len(words & other) / len(words | other) for other in tests)
    assert {text: share for text, share in overlaps.items() if share > 0.6} == {}
