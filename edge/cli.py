"""`nlp2prod edge predict --model DIR TEXT...`: classify raw text with an exported artefact, no TensorFlow."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from edge import manifest as contract

_USAGE = "nlp2prod edge predict --model DIR [--artefact NAME] [--threads N] TEXT..."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlp2prod edge predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="an export folder, or a pushed version dir (uses its assets.extra/exports)")
    parser.add_argument("--artefact", choices=sorted(contract.ARTEFACTS), default=None,
                        help="which artefact (default: the first shipped of " + ", ".join(contract.PREFERENCE) + ")")
    parser.add_argument("--threads", type=int, default=2, help="runtime threads (default 2)")
    parser.add_argument("texts", nargs="+", metavar="TEXT")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs `nlp2prod edge SUBCOMMAND`; prints one line per text: label, probability, text."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "predict":
        print(f"usage: {_USAGE}", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    args = _parser().parse_args(argv[1:])
    from edge.runtime import EdgeModel

    try:
        model = EdgeModel.load(args.model, args.artefact, args.threads)
    except contract.EdgeModelError as error:
        print(f"nlp2prod edge: {error}", file=sys.stderr)
        return 2
    for text, prediction in zip(args.texts, model.predict(args.texts)):
        print(f"{prediction.label}\t{prediction.probability:.3f}\t{text}")
    print(f"({model.name})", file=sys.stderr)
    return 0
