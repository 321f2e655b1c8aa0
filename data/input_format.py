"""The input format users bring, and its reader.

A data root holds one folder per span, `span-<N>/` (N = 1, 2, ...), each with any number of `*.csv` and
`*.jsonl` files, UTF-8, with the columns (CSV header) or keys (one JSON object per line) `text`, `label`,
`lang`, and optionally `group`: rows with the same group always land in the same split (give every
translation or paraphrase of one sentence the same group); an absent or empty group is the text itself.
Other columns are ignored.

The reader never drops anything silently: every data line becomes a `RawRow`; a line that cannot be read
(malformed CSV/JSON, missing columns, bytes that are not UTF-8) carries a `problem` naming why, and a file
that holds no rows at all yields one row with the problem `empty_file`. Whole-root problems (a missing data
root, no span folders) raise `InputFormatError`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
from typing import Iterator, List, Optional, Sequence

COLUMNS = ("text", "label", "lang")
GROUP = "group"
# Where `nlp2prod` reads data unless told otherwise: `data/` under its default home (pipeline.configs.DEFAULT_HOME).
DEFAULT_DATA_ROOT = os.path.join(".nlp2prod", "data")
SUFFIXES = (".csv", ".jsonl")
SPAN_DIR = re.compile(r"^span-(\d+)$")

# Problems a row can carry out of the reader (the TextCleaner quarantines these rows under the same names).
MALFORMED_LINE = "malformed_line"
MISSING_COLUMNS = "missing_columns"
NOT_UTF8 = "not_utf8"
EMPTY_FILE = "empty_file"
UNSUPPORTED_FILE = "unsupported_file"
INGEST_PROBLEMS = (MALFORMED_LINE, MISSING_COLUMNS, NOT_UTF8, EMPTY_FILE, UNSUPPORTED_FILE)

_SURROGATES = re.compile("[\udc80-\udcff]")


class InputFormatError(ValueError):
    """The data root as a whole cannot be read (missing, no span folders, an unreadable span)."""


@dataclasses.dataclass(frozen=True)
class RawRow:
    """One line of a user's file, as read, before any cleaning.

    Attributes:
      source: `<file relative to the data root>:<line>` (line 0 for whole-file problems).
      text, label, lang: the raw values ('' when absent).
      group: the optional split group as written ('' when absent; the split then groups by text).
      problem: None for a readable row, else one of INGEST_PROBLEMS.
      detail: a human-readable explanation of the problem.
    """

    source: str
    text: str = ""
    label: str = ""
    lang: str = ""
    group: str = ""
    problem: Optional[str] = None
    detail: str = ""


def fold_language(code: str) -> str:
    """A language code as compared everywhere: case-insensitive, `_` the same as `-` (zh_hant is zh-Hant)."""
    return code.strip().lower().replace("_", "-")


def span_dirs(data_root: str) -> List[int]:
    """Returns the span numbers under a data root, ascending.

    Raises:
      InputFormatError: the root does not exist or holds no `span-N/` folder.
    """
    if not os.path.isdir(data_root):
        raise InputFormatError(
            f"data root {data_root!r} does not exist; write the bundled corpus with "
            f"`nlp2prod data bundled --data-root {data_root}` or point data.data_root at your files")
    spans = sorted(int(m.group(1)) for name in os.listdir(data_root)
                   if (m := SPAN_DIR.match(name)) and os.path.isdir(os.path.join(data_root, name)))
    if not spans:
        raise InputFormatError(f"data root {data_root!r} has no span-N/ folder (e.g. {data_root}/span-1/*.csv)")
    return spans


def parse_file(name: str, payload: bytes) -> Iterator[RawRow]:
    """Parses one file's bytes into rows; `name` (relative to the data root) prefixes every source."""
    if not name.endswith(SUFFIXES):
        yield RawRow(f"{name}:0", problem=UNSUPPORTED_FILE,
                     detail=f"only {' and '.join(SUFFIXES)} files are read; this file was skipped")
        return
    if payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
    # surrogateescape keeps undecodable bytes in place so the problem is reported on its own line.
    text = payload.decode("utf-8", errors="surrogateescape")
    reader = _parse_csv if name.endswith(".csv") else _parse_jsonl
    count = 0
    for row in reader(name, text):
        count += 1
        yield row
    if not count:
        yield RawRow(f"{name}:0", problem=EMPTY_FILE, detail="the file holds no data rows")


def _finish(name: str, line: int, values: dict) -> RawRow:
    source = f"{name}:{line}"
    fields = {key: str(values.get(key) if values.get(key) is not None else "") for key in COLUMNS + (GROUP,)}
    if any(_SURROGATES.search(value) for value in fields.values()):
        clean = {key: _SURROGATES.sub("\ufffd", value) for key, value in fields.items()}
        return RawRow(source, **clean, problem=NOT_UTF8, detail="bytes that are not valid UTF-8")
    return RawRow(source, **fields)


def _missing(header: Sequence[str]) -> List[str]:
    present = {column.strip().lower() for column in header}
    return [column for column in COLUMNS if column not in present]


def _parse_csv(name: str, text: str) -> Iterator[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: Optional[List[str]] = None
    missing: List[str] = []
    last_line = 0
    while True:
        start = last_line + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last_line = reader.line_num
            yield RawRow(f"{name}:{start}", problem=MALFORMED_LINE,
                         detail=f"CSV error ({error}) in lines {start}-{last_line}")
            continue
        last_line = reader.line_num
        if not any(field.strip() for field in record):
            continue
        if header is None:
            header = [column.strip().lower() for column in record]
            missing = _missing(header)
            continue
        yield from _csv_row(name, start, header, missing, record)


def _csv_row(name: str, line: int, header: List[str], missing: List[str], record: List[str]) -> Iterator[RawRow]:
    if missing:
        yield RawRow(f"{name}:{line}", problem=MISSING_COLUMNS,
                     detail=f"the header lacks column(s) {', '.join(missing)} (found: {', '.join(header)})")
    elif len(record) != len(header):
        yield RawRow(f"{name}:{line}", text=",".join(record), problem=MALFORMED_LINE,
                     detail=f"{len(record)} fields where the header has {len(header)}")
    else:
        yield _finish(name, line, dict(zip(header, record)))


def _parse_jsonl(name: str, text: str) -> Iterator[RawRow]:
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            yield RawRow(f"{name}:{line_number}", text=line, problem=MALFORMED_LINE, detail=f"invalid JSON ({error})")
            continue
        if not isinstance(value, dict):
            yield RawRow(f"{name}:{line_number}", text=line, problem=MALFORMED_LINE,
                         detail="each line must be one JSON object")
            continue
        keys = {str(key).strip().lower(): item for key, item in value.items()}
        missing = [column for column in COLUMNS if keys.get(column) is None]
        if missing:
            yield RawRow(f"{name}:{line_number}", text=str(keys.get("text") or ""), problem=MISSING_COLUMNS,
                         detail=f"the object lacks key(s) {', '.join(missing)}")
            continue
        yield _finish(name, line_number, keys)
