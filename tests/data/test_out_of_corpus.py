"""The hand-written out-of-corpus set: well-formed, balanced, new (not chatterbot-corpus lines), no duplicates."""

import collections
import json
import re
import unicodedata

import pytest

from data import bundled, out_of_corpus

ABSENT_FROM_CORPUS_TRAINING = {"fr", "ru", "ar", "tr", "hi"}


def _comparable(text):
    """Case, punctuation, emoji and spacing removed, so a copied line cannot hide behind a changed comma."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in folded)).strip()


@pytest.fixture(scope="module")
def sentences():
    return out_of_corpus.load()


def test_every_bundled_language_and_five_absent_ones_are_there():
    langs = set(out_of_corpus.languages())
    assert set(bundled.BUNDLED_LANGUAGES) <= langs
    assert ABSENT_FROM_CORPUS_TRAINING <= langs
    assert set(out_of_corpus.absent_from_training(bundled.BUNDLED_LANGUAGES)) == langs - set(bundled.BUNDLED_LANGUAGES)


def test_every_language_has_ten_sentences_per_label_in_both_styles(sentences):
    counts = collections.Counter((s.lang, s.label) for s in sentences)
    for lang in out_of_corpus.languages():
        for label in bundled.BUNDLED_LABELS:
            assert counts[(lang, label)] >= 10, (lang, label)
    assert {s.label for s in sentences} == set(bundled.BUNDLED_LABELS)
    styles = collections.Counter((s.lang, s.style) for s in sentences)
    assert all(styles[(lang, style)] >= 20 for lang in out_of_corpus.languages() for style in out_of_corpus.STYLES)


def test_each_file_holds_only_its_own_language(sentences):
    assert all(s.text.strip() == s.text and s.text for s in sentences)
    for lang in out_of_corpus.languages():
        assert {s.lang for s in out_of_corpus.load([lang])} == {lang}


def test_no_sentence_is_a_chatterbot_corpus_line(sentences):
    corpus = {_comparable(line) for line in bundled.corpus_lines()}
    assert len(corpus) > 10000
    copied = [s.text for s in sentences if _comparable(s.text) in corpus]
    assert copied == []


def test_no_duplicates_across_the_whole_set(sentences):
    repeated = [text for text, n in collections.Counter(_comparable(s.text) for s in sentences).items() if n > 1]
    assert repeated == []


def test_loading_by_language_label_and_folded_code():
    hant = out_of_corpus.load(["ZH_hant"], labels=["food"])
    assert len(hant) >= 10 and {(s.lang, s.label) for s in hant} == {("zh-Hant", "food")}
    assert out_of_corpus.absent_from_training(["en", "zh_HANT"]) == tuple(
        code for code in out_of_corpus.languages() if code not in ("en", "zh-Hant"))
    with pytest.raises(out_of_corpus.OutOfCorpusError, match="no language xx"):
        out_of_corpus.load(["en", "xx"])


def test_a_malformed_line_is_named(tmp_path):
    path = tmp_path / "en.jsonl"
    good = {"text": "hi there", "label": "greetings", "lang": "en", "style": "chat"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "style": "poem"}) + "\n", encoding="utf-8")
    with pytest.raises(out_of_corpus.OutOfCorpusError, match="en.jsonl:2: style 'poem'"):
        out_of_corpus.read_file(str(path))
    path.write_text('{"text": "hi"}\n', encoding="utf-8")
    with pytest.raises(out_of_corpus.OutOfCorpusError, match="en.jsonl:1: expected an object"):
        out_of_corpus.read_file(str(path))
