"""Pipeline robustness: a corpus with injected bad rows goes through the input reader, ExampleGen's records and
the TextCleaner executor; the quarantine must hold exactly the injected rows, each under its reason.

The base corpus is real (bundled chatterbot lines in 9 languages), first brought to a fixpoint of the cleaner
(cleaned once, so cleaning it again quarantines nothing). Then bad rows are injected: mixed encodings, unknown
and mismatched languages, label typos, exact and normalised duplicates, conflicting labels, empty / short /
long texts, malformed and incomplete lines, an empty file and an unsupported file. Control rows that only look
odd (label case, language spelling, HTML, CRLF, BOM) must be kept.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import os

import pytest
from tfx.types import artifact_utils, standard_artifacts

from models import tfrecords
from components.example_gen.records import row_to_example
from components.text_cleaner.cleaning import CleaningPolicy, Row, clean_rows
from components.text_cleaner.component import Quarantine
from components.text_cleaner.executor import Executor
from components.text_cleaner.language_id import LanguageIdentifier
from components.text_cleaner.summary import QUARANTINE_FILE, load_summary
from data.bundled import read_corpus
from data.input_format import parse_file
from pipeline.configs import BUNDLED_LABELS, BUNDLED_LANGUAGES, CleaningConfig

CLEANING = CleaningConfig()
BASE_PER_LANGUAGE = 10
SPAN = "span-1"
EVAL_FILES = ("y-injected.csv", "c-empty.csv")
FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}  # ASCII -> full-width forms


def _csv_line(*fields: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def base_rows():
    """(text, label, lang): the first rows per language that the cleaner keeps, already cleaned."""
    identifier = LanguageIdentifier(BUNDLED_LANGUAGES, CLEANING.language_mismatch_confidence)
    policy = CleaningPolicy(BUNDLED_LANGUAGES, BUNDLED_LABELS, CLEANING.min_chars, CLEANING.max_chars)
    per_language = collections.defaultdict(list)
    for text, label, lang in read_corpus(BUNDLED_LANGUAGES, BUNDLED_LABELS):
        if len(per_language[lang]) < 4 * BASE_PER_LANGUAGE:
            per_language[lang].append((text, label, lang))
    rows = [Row("train", f"base:{i}", t, label, lang) for i, (t, label, lang) in
            enumerate(r for lang in BUNDLED_LANGUAGES for r in per_language[lang])]
    kept = collections.defaultdict(list)
    for row in clean_rows(rows, policy, identifier):
        if row.reason is None and len(kept[row.lang]) < BASE_PER_LANGUAGE and len(row.cleaned) >= 8:
            kept[row.lang].append((row.cleaned, row.label, row.lang))
    base = [r for lang in BUNDLED_LANGUAGES for r in kept[lang]]
    again = clean_rows([Row("train", f"base:{i}", *r) for i, r in enumerate(base)], policy, identifier)
    assert not [r.reason for r in again if r.reason], "the base corpus is not a fixpoint of the cleaner"
    return base


def injected_files(base):
    """{file name: bytes} of the bad rows, and {source: expected reason} for every row that must be quarantined."""
    english = [r for r in base if r[2] == "en"]
    italian = [r for r in base if r[2] == "it"]
    expected = {}
    lines = [_csv_line("text", "label", "lang").encode("utf-8")]

    def add(reason, fields, encoding="utf-8"):
        lines.append(_csv_line(*fields).encode(encoding))
        expected[f"{SPAN}/y-injected.csv:{len(lines)}"] = reason

    add("not_utf8", ("Il caffè è davvero buono stamattina", "food", "it"), "latin-1")
    add("not_utf8", ("Привіт, як справи у тебе сьогодні", "greetings", "uk"), "cp1251")
    add("not_utf8", ("ラーメンがとても好きです", "food", "ja"), "shift_jis")
    add("not_utf8", ("Ich mag Käse wirklich sehr", "food", "en"), "cp1252")
    add("unknown_language", ("the weather is lovely today", "greetings", "xx"))
    add("unknown_language", ("the weather is lovely today again", "greetings", "german"))
    add("unknown_language", ("a row without a language at all", "greetings", ""))
    add("language_mismatch", ("저는 오늘 아침에 친구들과 함께 맛있는 음식을 먹었습니다", "food", "en"))
    add("language_mismatch", ("من امروز صبح با دوستانم غذای خوشمزه ای خوردم", "food", "it"))
    add("language_mismatch", ("Сьогодні вранці я снідав з друзями у кафе", "food", "nl"))
    add("unknown_label", ("I love playing football on sundays", "sprots", "en"))
    add("unknown_label", ("pizza with extra cheese please", "fod", "en"))
    add("unknown_label", ("good morning to all of you", "greting", "en"))
    for text, label, lang in (english[0], italian[0]):
        add("duplicate", (text, label, lang))
    # Identical once normalised (no-break space collapses, the zero-width space is dropped): a plain duplicate.
    add("duplicate", (english[2][0].replace(" ", "\u00a0", 1) + "\u200b", english[2][1], "en"))
    add("near_duplicate", (english[1][0].upper() + "!!", english[1][1], "en"))
    add("near_duplicate", (italian[1][0].lower().rstrip(".!?") + " ...", italian[1][1], "it"))
    add("near_duplicate", (english[3][0].translate(FULL_WIDTH), english[3][1], "en"))
    for text, labels in (("my brother collects old coins and stamps", ("money", "humor")),
                         ("we watched a long documentary about stars", ("science", "movies"))):
        for label in labels:
            add("conflicting_labels", (text, label, "en"))
    add("empty", ("<p>  </p>", "food", "en"))
    add("too_short", ("a", "food", "en"))
    add("too_long", (" ".join(["breakfast"] * 150), "food", "en"))
    jsonl = [json.dumps({"text": "fine", "label": "food", "lang": "en"})[:-12], "[1, 2, 3]",
             json.dumps({"text": "where is the lang key", "label": "food"})]
    for number, reason in enumerate(("malformed_line", "malformed_line", "missing_columns"), start=1):
        expected[f"{SPAN}/z-injected.jsonl:{number}"] = reason
    expected[f"{SPAN}/c-empty.csv:0"] = "empty_file"
    expected[f"{SPAN}/notes.txt:0"] = "unsupported_file"
    files = {"y-injected.csv": b"".join(lines), "z-injected.jsonl": "\n".join(jsonl).encode("utf-8"),
             "c-empty.csv": b"text,label,lang\n", "notes.txt": b"text,label,lang\nhello,food,en\n"}
    return files, expected


def control_file(base):
    """Rows that look odd but are fine (kept): CRLF, BOM, label case, language spelling, HTML, spacing."""
    rows = [("Hello, how are you doing this fine evening?", "Greetings", "EN"),
            ("<b>I would like a big plate of pasta</b>", "food", "en"),
            ("   the   match   went   to   extra   time   ", "sports", "en"),
            ("我們明天一起去看電影吧", "movies", "zh_hant"),
            ("which team do you support this season", " Sports ", "en")]
    body = "".join(_csv_line(*row).replace("\n", "\r\n") for row in [("text", "label", "lang")] + rows)
    return b"\xef\xbb\xbf" + body.encode("utf-8"), len(rows)


def _artifact(root, files):
    artifact = standard_artifacts.Examples()
    artifact.uri = os.path.join(root, "examples")
    artifact.split_names = artifact_utils.encode_split_names(["train", "eval"])
    artifact.set_int_custom_property("span", 1)
    by_split = collections.defaultdict(list)
    for name, payload in sorted(files.items()):
        for row in parse_file(f"{SPAN}/{name}", payload):
            # The injected duplicates sit in eval, their originals in train: de-duplication is global.
            by_split["eval" if name in EVAL_FILES else "train"].append(row_to_example(row))
    for split in ("train", "eval"):
        tfrecords.write_examples(os.path.join(artifact.uri, f"Split-{split}"), by_split[split])
    return artifact


def test_quarantine_holds_exactly_the_injected_rows_per_reason(base_rows, tmp_path):
    base_csv = ("".join(_csv_line(*row) for row in [("text", "label", "lang")] + base_rows)).encode("utf-8")
    files, expected = injected_files(base_rows)
    files["b-controls.csv"], controls = control_file(base_rows)
    files["a-base.csv"] = base_csv
    cleaned, quarantine = standard_artifacts.Examples(), Quarantine()
    cleaned.uri, quarantine.uri = str(tmp_path / "cleaned"), str(tmp_path / "quarantine")
    os.makedirs(cleaned.uri)
    os.makedirs(quarantine.uri)
    Executor().Do({"examples": [_artifact(str(tmp_path), files)]},
                  {"cleaned_examples": [cleaned], "quarantine": [quarantine]},
                  {"languages": json.dumps(BUNDLED_LANGUAGES), "labels": json.dumps(BUNDLED_LABELS),
                   "min_chars": CLEANING.min_chars, "max_chars": CLEANING.max_chars,
                   "language_mismatch_confidence": CLEANING.language_mismatch_confidence})

    with open(os.path.join(quarantine.uri, QUARANTINE_FILE), encoding="utf-8") as handle:
        found = {record["row"]: record["reason"] for record in map(json.loads, handle)}
    summary = load_summary(quarantine.uri)
    per_reason = {reason: sum(langs.values()) for reason, langs in summary["quarantined"].items()}
    injected = dict(collections.Counter(expected.values()))
    print(f"\ninjected bad rows per reason: {dict(sorted(injected.items()))}; quarantined: {per_reason}; "
          f"kept {sum(summary['rows_out'].values())} of {sum(summary['rows_in'].values())} rows")
    assert per_reason == injected, f"quarantined {per_reason}, injected {injected}"
    assert found == expected, {k: (found.get(k), expected.get(k)) for k in set(found) | set(expected)
                               if found.get(k) != expected.get(k)}
    assert sum(summary["rows_out"].values()) == len(base_rows) + controls
