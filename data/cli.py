"""`nlp2prod data`: write the bundled corpus as a span, or check a user's files against the input format.

  nlp2prod data bundled [--data-root DIR] [--span N] [--languages en,it,...] [--labels food,...]
  nlp2prod data check DIR [--languages ...] [--labels ...]

`check` reads a data root (every span), one span folder, or one file, and prints one line per problem as
`file:line: message`, then counts; it exits 1 when any problem was found.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from typing import Iterator, List, Optional, Sequence, Tuple

from data import bundled
from data.bundled import BUNDLED_LABELS, BUNDLED_LANGUAGES
from data.input_format import DEFAULT_DATA_ROOT, InputFormatError, RawRow, fold_language, parse_file, span_dirs


def _csv_list(value: str) -> Tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp2prod data", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("bundled", help="write chatterbot-corpus lines as span-N in the input format")
    write.add_argument("--data-root", default=DEFAULT_DATA_ROOT)
    write.add_argument("--span", type=int, default=1)
    check = commands.add_parser("check", help="validate CSV/JSONL files: columns text,label,lang; UTF-8")
    check.add_argument("path", help="a data root, a span-N folder, or one file")
    for sub in (write, check):
        sub.add_argument("--languages", type=_csv_list, default=BUNDLED_LANGUAGES)
        sub.add_argument("--labels", type=_csv_list, default=BUNDLED_LABELS)
    return parser


def write_bundled(data_root: str, span: int, languages: Sequence[str], labels: Sequence[str]) -> int:
    """Writes the bundled corpus as `<data_root>/span-<span>/` and prints rows per language and label."""
    if span < 1:
        raise InputFormatError(f"--span must be 1 or more, got {span}")
    rows = bundled.read_corpus(languages, labels)
    if not rows:
        raise InputFormatError(f"the bundled corpus has no rows for languages {','.join(languages)} "
                               f"and labels {','.join(labels)}")
    paths = bundled.write_span(rows, data_root, span)
    print(f"wrote {len(rows)} rows in {len(paths)} files to {os.path.join(data_root, f'span-{span}')}")
    print(bundled.count_table(rows, languages, labels))
    return 0


def _files(path: str) -> Iterator[Tuple[str, str]]:
    """Yields (absolute path, name relative to the data root) for every file to check."""
    if os.path.isfile(path):
        yield path, os.path.basename(path)
        return
    folder_name = os.path.basename(os.path.normpath(path))
    folders = ([(path, folder_name)] if folder_name.startswith("span-")
               else [(os.path.join(path, f"span-{n}"), f"span-{n}") for n in span_dirs(path)])
    for folder, relative in folders:
        for name in sorted(os.listdir(folder)):
            if os.path.isfile(os.path.join(folder, name)):
                yield os.path.join(folder, name), f"{relative}/{name}"


def value_problems(row: RawRow, languages: Sequence[str], labels: Sequence[str]) -> List[str]:
    """Problems of a readable row's values: empty text, a language or label outside the configured sets."""
    problems = []
    if not row.text.strip():
        problems.append("empty text")
    if fold_language(row.lang) not in {fold_language(lang) for lang in languages}:
        problems.append(f"language {row.lang!r} is not one of {','.join(languages)}")
    # Labels are matched like language codes (case-insensitive, `_` = `-`), as the TextCleaner does.
    if fold_language(row.label) not in {fold_language(label) for label in labels}:
        problems.append(f"label {row.label!r} is not one of {','.join(labels)}")
    return problems


def check_files(path: str, languages: Sequence[str], labels: Sequence[str]) -> int:
    """Checks every file under `path`; prints `file:line: message` per problem and a count summary."""
    if not os.path.exists(path):
        raise InputFormatError(f"{path!r} does not exist")
    counts: collections.Counter = collections.Counter()
    rows = 0
    for absolute, name in _files(path):
        with open(absolute, "rb") as handle:
            payload = handle.read()
        for row in parse_file(name, payload):
            rows += row.problem is None
            messages = ([f"{row.problem}: {row.detail}"] if row.problem
                        else value_problems(row, languages, labels))
            for message in messages:
                print(f"{row.source}: {message}")
                counts[message.split(":")[0] if row.problem else message.split(" ")[0]] += 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no problems"
    print(f"checked {rows} readable rows under {path}: {summary}")
    return 1 if counts else 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `nlp2prod data`; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "bundled":
            return write_bundled(args.data_root, args.span, args.languages, args.labels)
        return check_files(args.path, args.languages, args.labels)
    except (InputFormatError, OSError) as error:
        print(f"nlp2prod data: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
