"""The bundled chatterbot corpus and `nlp2prod data`."""

import csv

from data import bundled, cli
from pipeline.configs import BUNDLED_LABELS, BUNDLED_LANGUAGES


def test_bundled_corpus_covers_every_language_and_label():
    rows = bundled.read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS)
    assert len(rows) > 6000
    assert {lang for _, _, lang in rows} == set(BUNDLED_LANGUAGES)
    assert {label for _, label, _ in rows} == set(BUNDLED_LABELS)
    assert all(text for text, _, _ in rows)


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
    assert records[0] == ["text", "label", "lang"] and {r[2] for r in records[1:]} == {"fa"}
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
