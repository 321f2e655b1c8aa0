"""The bundled chatterbot corpus and `nlp2prod data`."""

import csv

import collections
import json

import pytest

from data import bundled, cli
from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES


def test_bundled_corpus_covers_every_language_and_label():
    rows = bundled.read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS)
    assert len(rows) > 9000 and len(BUNDLED_LANGUAGES) >= 10
    assert {lang for _, _, lang in rows} == set(BUNDLED_LANGUAGES)
    assert {label for _, label, _ in rows} == set(BUNDLED_LABELS)
    assert all(text for text, _, _ in rows)


def test_each_language_has_the_labels_of_its_topic_files():
    coverage = bundled.languages_and_labels()
    assert set(coverage) == set(BUNDLED_LANGUAGES)
    assert coverage["es"] == ("emotion", "greetings", "money", "psychology")
    assert coverage["de"] == ("food", "greetings", "movies")
    assert coverage["pt"] == ("greetings", "money")
    assert coverage["en"] == BUNDLED_LABELS and "psychology" not in coverage["nl"]
    rows = bundled.read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS)
    counts = collections.Counter((lang, label) for _, label, lang in rows)
    assert all(counts[(lang, label)] > 0 for lang, labels in coverage.items() for label in labels)


def test_every_row_has_a_group_shared_by_its_translations_and_its_copies():
    rows = bundled.read_rows(BUNDLED_LANGUAGES, BUNDLED_LABELS)
    assert len(rows) == len(bundled.read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS)) and all(r.group for r in rows)
    langs_of = collections.defaultdict(set)
    groups_of_text = collections.defaultdict(set)
    for row in rows:
        langs_of[row.group].add(row.lang)
        groups_of_text[row.text.strip().casefold()].add(row.group)
    assert all(len(groups) == 1 for groups in groups_of_text.values())
    italian = [row for row in rows if row.lang == "it"]
    assert sum("en" in langs_of[row.group] for row in italian) > 0.6 * len(italian)
    assert len(langs_of) > 0.25 * len(rows)


def test_groups_file_matches_the_corpus_and_a_stale_one_is_named(tmp_path):
    groups = bundled.load_groups()
    assert set(groups) == set(BUNDLED_LANGUAGES)
    stale = {"en": {"food": [0, 1]}}
    (tmp_path / "groups.json").write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ValueError, match="2 lines for en/food.yml.*another chatterbot-corpus version"):
        bundled.read_rows(("en",), ("food",), groups_path=str(tmp_path / "groups.json"))


def test_a_language_without_groups_gets_its_own_per_line_groups():
    rows = bundled.read_rows(("bn",), ("food",))
    assert rows and all(row.group.startswith("food/bn/") for row in rows)


def test_topic_names_are_normalised():
    mapping = bundled.load_mapping()
    assert mapping.topic("sport") == "sports"
    assert mapping.topic("emociones") == "emotion"
    assert mapping.topic("food") == "food"
    rows = bundled.read_corpus(("nl",), ("sports",))
    assert rows and {label for _, label, _ in rows} == {"sports"}


def test_yaml_scalars_stay_text(tmp_path):
    (tmp_path / "english").mkdir()
    (tmp_path / "english" / "food.yml").write_text(
        "categories: [food]\nconversations:\n- - yes\n  - 1.0\n- single line\n", encoding="utf-8")
    rows = bundled.read_corpus(("en",), ("food",), root=str(tmp_path))
    assert rows == [("yes", "food", "en"), ("1.0", "food", "en"), ("single line", "food", "en")]


def test_cli_writes_a_span_and_check_accepts_it(tmp_path, capsys):
    root = tmp_path / "data"
    assert cli.main(["bundled", "--data-root", str(root), "--span", "3", "--languages", "en,fa",
                     "--labels", "food,money"]) == 0
    out = capsys.readouterr().out
    assert "fa" in out and "money" in out
    with open(root / "span-3" / "chatterbot-fa.csv", encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0] == ["text", "label", "lang", "group"] and {r[2] for r in records[1:]} == {"fa"}
    assert all(r[3] for r in records[1:])
    assert cli.main(["check", str(root), "--languages", "en,fa", "--labels", "food,money"]) == 0
    assert "no problems" in capsys.readouterr().out


def test_cli_check_names_each_problem(tmp_path, capsys):
    span = tmp_path / "span-1"
    span.mkdir()
    (span / "a.csv").write_bytes(b"text,label,lang\nok,Food,zh_hant\n,food,en\nhi,cars,en\nhey,food,xx\n\xff,food,en\n")
    (span / "b.csv").write_bytes(b"")
    assert cli.main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    for expected in ("span-1/a.csv:3: empty text", "span-1/a.csv:4: label 'cars'", "span-1/a.csv:5: language 'xx'",
                     "span-1/a.csv:6: not_utf8", "span-1/b.csv:0: empty_file"):
        assert expected in out
    assert "a.csv:2" not in out


def test_cli_user_mistakes_are_one_line_errors(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "nope")]) == 2
    assert cli.main(["bundled", "--data-root", str(tmp_path), "--span", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("nlp2prod data:") for line in err)
