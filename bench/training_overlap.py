"""Guards the real-message evaluation set against leaking into the training data: lists every
example of data/nlu (and the held-in test set) that is a copy or a near-copy of an evaluation row.

Usage: python bench/training_overlap.py [PATH_TO_dev.tsv] [--threshold 0.6]
Without the file it says so and exits 0. Exits 1 when a near-copy is found, so a trainer who adds
examples can run it before retraining (`make bench` runs it before measuring).

Near-copy: after removing spaces, punctuation, emoticon codes and corpus masks, their
character-bigram sets overlap by at least the threshold (Jaccard), or one text contains the other and
is at least 60 % of its length. Short, generic texts (fewer than 6 characters, such as a greeting or
"is the quality good?") are not compared: every shop's buyers write them, so they say nothing about leakage.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.nlu_baselines import load_examples  # noqa: E402
from bench.real_language import DEFAULT_SET, read_set  # noqa: E402

NOISE = re.compile(r"\[[^\]]{1,6}\]|<[a-z]+>|/:[0-9a-z]{1,3}|#E-s\d*|[\W_]+", re.I)
MIN_LENGTH = 6
CONTAINED_SHARE = 0.6


def bare(text: str) -> str:
    return NOISE.sub("", text).lower()


def bigrams(text: str) -> Set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str, grams_a: Set[str], grams_b: Set[str]) -> float:
    short, long = sorted((a, b), key=len)
    if short in long and len(short) >= CONTAINED_SHARE * len(long):
        return 1.0
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def near_copies(training: List[str], evaluation: List[str], threshold: float) -> List[Tuple[float, str, str]]:
    rows = [(bare(t), t) for t in evaluation]
    rows = [(b, t, bigrams(b)) for b, t in rows if len(b) >= MIN_LENGTH]
    by_gram: Dict[str, List[int]] = {}
    for index, (_, _, grams) in enumerate(rows):
        for gram in grams:
            by_gram.setdefault(gram, []).append(index)
    found = []
    for text in dict.fromkeys(training):
        plain = bare(text)
        if len(plain) < MIN_LENGTH:
            continue
        grams = bigrams(plain)
        candidates = {i for gram in grams for i in by_gram.get(gram, [])}
        best: Optional[Tuple[float, str]] = None
        for i in candidates:
            score = similarity(plain, rows[i][0], grams, rows[i][2])
            if best is None or score > best[0]:
                best = (score, rows[i][1])
        if best is not None and best[0] >= threshold:
            found.append((best[0], text, best[1]))
    return sorted(found, reverse=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_SET))
    parser.add_argument("--threshold", type=float, default=0.6)
    parser.add_argument("--show", action="store_true", help="print the pairs (the evaluation rows too)")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        print(f"training_overlap: {path} is not here; nothing to check.")
        return 0
    evaluation, _ = read_set(path)
    sources = sorted((ROOT / "data" / "nlu").glob("*.yml")) + [ROOT / "tests" / "nlu" / "test_nlu.yml"]
    training = [text for text, _ in load_examples(sources)]
    found = near_copies(training, evaluation, args.threshold)
    print(f"training_overlap: {len(training)} examples, {len(evaluation)} evaluation rows, "
          f"{len(found)} near-copies at threshold {args.threshold}.")
    for score, text, row in found:
        print(f"  {score:.2f}  example: {text}" + (f"\n        row: {row}" if args.show else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
