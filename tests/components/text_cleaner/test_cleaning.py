"""Row-level cleaning: quarantine reasons, label and language mapping, global de-duplication, summary."""


from components.text_cleaner import summary
from components.text_cleaner.cleaning import CleaningPolicy, Row, clean_rows
from components.text_cleaner.language_id import LanguageIdentifier

POLICY = CleaningPolicy(languages=("en", "it", "ja", "zh", "zh-Hant", "uk", "fa", "nl"),
                        labels=("food", "greetings", "money"), min_chars=2, max_chars=80)


def _row(text, label="food", lang="en", line=1, split="train", problem=None):
    return Row(split=split, source=f"span-1/a.csv:{line}", text=text, label=label, lang=lang, problem=problem)


def _reasons(rows, identifier=None):
    return [(row.source.rsplit(":", 1)[1], row.reason) for row in clean_rows(rows, POLICY, identifier)]


def test_reader_problems_are_quarantined_under_their_name():
    rows = [_row("", line=1, problem="malformed_line"), _row("ok fine", line=2)]
    assert _reasons(rows) == [("1", "malformed_line"), ("2", None)]


def test_labels_and_languages_are_matched_case_insensitively():
    rows = clean_rows([_row("Bonjour", label="Greetings", lang="EN", line=1),
                       _row("早安你好", label="food", lang="zh_hant", line=2),
                       _row("hello", label="cars", line=3), _row("hallo", lang="de", line=4)], POLICY)
    assert [(r.label, r.lang, r.reason) for r in rows] == [
        ("greetings", "en", None), ("food", "zh-Hant", None), ("cars", "en", "unknown_label"),
        ("food", "de", "unknown_language")]


def test_length_bounds():
    rows = [_row("<b></b>", line=1), _row("a", line=2), _row("x" * 81, line=3), _row("ok", line=4)]
    assert _reasons(rows) == [("1", "empty"), ("2", "too_short"), ("3", "too_long"), ("4", None)]


def test_duplicates_are_global_across_splits_and_keep_the_first_row():
    rows = [_row("Hello there", line=3, split="eval"), _row("Hello there", line=1, split="train"),
            _row("hello, there!", line=2, split="eval"), _row("Привіт", lang="uk", line=4)]
    cleaned = clean_rows(rows, POLICY)
    assert [(r.source[-1], r.split, r.reason) for r in cleaned] == [
        ("1", "train", None), ("2", "eval", "near_duplicate"), ("3", "eval", "duplicate"), ("4", "train", None)]
    assert cleaned[2].detail == "kept span-1/a.csv:1"


def test_conflicting_labels_quarantine_every_copy():
    rows = [_row("How much is it", label="money", line=1), _row("how much is it?", label="food", line=2),
            _row("How much is it", label="money", line=3)]
    assert [reason for _, reason in _reasons(rows)] == ["conflicting_labels"] * 3


def test_declared_language_is_checked_only_when_the_detector_is_confident():
    identifier = LanguageIdentifier(POLICY.languages, min_confidence=0.9)
    rows = [_row("This is clearly an English sentence about the food we eat", lang="it", line=1),
            _row("心理学", lang="ja", line=2),                   # Han only: fits ja and zh alike
            _row("OK", lang="nl", line=3),                      # too short to be sure of anything
            _row("Доброго ранку, як справи?", lang="uk", line=4),
            _row("これは日本語の文です", lang="zh", line=5)]      # kana: Japanese, not Chinese
    assert _reasons(rows, identifier) == [("1", "language_mismatch"), ("2", None), ("3", None), ("4", None),
                                          ("5", "language_mismatch")]


def test_summary_counts_every_row_once():
    rows = clean_rows([_row("Hello there", line=1), _row("Hello there", line=2, split="eval"),
                       _row("<i>Ciao</i>", lang="it", line=3), _row("x", lang="it", line=4),
                       _row("", lang="", line=5, problem="malformed_line")], POLICY)
    counts = summary.summarise(rows, ["train", "eval"])
    assert counts["rows_in"] == {"": 1, "en": 2, "it": 2} and counts["rows_out"] == {"en": 1, "it": 1}
    assert counts["quarantined"] == {"duplicate": {"en": 1}, "malformed_line": {"": 1}, "too_short": {"it": 1}}
    assert counts["changed"] == {"html": {"it": 1}}
    assert counts["splits"] == {"train": {"in": 4, "out": 2}, "eval": {"in": 1, "out": 0}}
    table = summary.render_summary(counts)
    assert "duplicate" in table.splitlines()[0] and table.splitlines()[-2].split()[:3] == ["total", "5", "2"]
    assert table.splitlines()[-1] == "changed rows by rule: html 1"


def test_cleaning_is_deterministic_whatever_the_input_order():
    rows = [_row(f"line number {i % 7}", line=i, split="train" if i % 2 else "eval") for i in range(1, 30)]
    first = [(r.source, r.reason) for r in clean_rows([Row(**vars(r)) for r in rows], POLICY)]
    second = [(r.source, r.reason) for r in clean_rows([Row(**vars(r)) for r in reversed(rows)], POLICY)]
    assert first == second
