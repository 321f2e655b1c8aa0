"""The input-format reader: every line is a row or a named problem, never silently gone."""

import pytest

from data import input_format
from data.input_format import InputFormatError, parse_file


def _rows(name, payload):
    return list(parse_file(name, payload))


def test_csv_rows_keep_values_and_line_numbers():
    rows = _rows("span-1/a.csv", b"text,label,lang\nhello there,greetings,en\n\"multi\nline\",food,en\n")
    assert [(r.source, r.text, r.label, r.lang, r.problem) for r in rows] == [
        ("span-1/a.csv:2", "hello there", "greetings", "en", None),
        ("span-1/a.csv:3", "multi\nline", "food", "en", None),
    ]


def test_csv_header_is_case_insensitive_and_extra_columns_are_ignored():
    rows = _rows("a.csv", "\ufeffID, Text ,LABEL,Lang\n7,Привіт,greetings,uk\n".encode("utf-8"))
    assert (rows[0].text, rows[0].label, rows[0].lang, rows[0].problem) == ("Привіт", "greetings", "uk", None)


def test_the_optional_group_column_is_read_from_csv_and_jsonl():
    csv_rows = _rows("a.csv", b"text,label,lang,Group\nhallo,greetings,nl,line-7\nhello,greetings,en,\n")
    assert [(r.text, r.group, r.problem) for r in csv_rows] == [("hallo", "line-7", None), ("hello", "", None)]
    jsonl_rows = _rows("a.jsonl", '{"text": "ciao", "label": "greetings", "lang": "it", "group": 7}\n'
                                  '{"text": "hi", "label": "greetings", "lang": "en"}\n'.encode("utf-8"))
    assert [(r.text, r.group, r.problem) for r in jsonl_rows] == [("ciao", "7", None), ("hi", "", None)]


def test_missing_columns_flag_every_row():
    rows = _rows("a.csv", b"text,label\nx,food\ny,food\n")
    assert [r.problem for r in rows] == [input_format.MISSING_COLUMNS] * 2
    assert "lang" in rows[0].detail


def test_wrong_field_count_is_a_malformed_line():
    rows = _rows("a.csv", b"text,label,lang\na,b\nok,food,en\n")
    assert [(r.source, r.problem) for r in rows] == [("a.csv:2", "malformed_line"), ("a.csv:3", None)]


def test_unterminated_quote_is_reported_with_its_line_range():
    rows = _rows("a.csv", b'text,label,lang\nok,food,en\n"open,food,en\nlost,food,en\n')
    assert rows[-1].problem == "malformed_line" and rows[-1].source == "a.csv:3"
    assert "3-4" in rows[-1].detail


def test_non_utf8_bytes_are_reported_on_their_line():
    rows = _rows("a.csv", b"text,label,lang\ngood,food,en\nbad \xff\xfe,food,en\n")
    assert [r.problem for r in rows] == [None, "not_utf8"]
    assert rows[1].text == "bad \ufffd\ufffd" and rows[1].source == "a.csv:3"


@pytest.mark.parametrize("payload", [b"", b"text,label,lang\n", b"\n\n"])
def test_empty_files_yield_one_problem_row(payload):
    rows = _rows("a.csv", payload)
    assert [(r.source, r.problem) for r in rows] == [("a.csv:0", "empty_file")]


def test_jsonl_rows_and_problems():
    payload = "\n".join([
        '{"text": "سلام", "label": "greetings", "lang": "fa"}',
        "",
        "not json",
        "[1, 2]",
        '{"text": "x", "label": "food"}',
        '{"text": 12, "label": "money", "lang": "en"}',
    ]).encode("utf-8")
    rows = _rows("b.jsonl", payload)
    assert [(r.source, r.problem) for r in rows] == [
        ("b.jsonl:1", None), ("b.jsonl:3", "malformed_line"), ("b.jsonl:4", "malformed_line"),
        ("b.jsonl:5", "missing_columns"), ("b.jsonl:6", None)]
    assert rows[0].text == "سلام" and rows[-1].text == "12"


def test_other_files_are_reported_not_read():
    rows = _rows("span-1/notes.txt", b"hello")
    assert [r.problem for r in rows] == ["unsupported_file"]


def test_span_dirs(tmp_path):
    with pytest.raises(InputFormatError, match="does not exist"):
        input_format.span_dirs(str(tmp_path / "missing"))
    with pytest.raises(InputFormatError, match="no span-N"):
        input_format.span_dirs(str(tmp_path))
    for name in ("span-2", "span-10", "span-x"):
        (tmp_path / name).mkdir()
    assert input_format.span_dirs(str(tmp_path)) == [2, 10]
