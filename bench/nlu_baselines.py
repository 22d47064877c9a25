"""Compares the trained Rasa model with two simple baselines on the held-in test set:
a keyword matcher (what small shops use for auto-reply) and TF-IDF + logistic regression,
all trained on the same data/nlu examples. Also 5-fold cross-validation of the baselines on the
training data, beside the Rasa pipeline's own cross-validation (`make evaluate`, read from
results/cross_validation when present). Prints a table and writes bench/results/nlu_baselines.*"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")
FALLBACK = "out_of_scope"
CORE_INTENTS = ["ask_stock", "ask_ship_time", "haggle", "ask_fading", "request_return"]


def load_examples(paths) -> List[Tuple[str, str]]:
    examples = []
    for path in paths:
        for block in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((ANNOTATION.sub(r"\1", line[2:].strip()), block["intent"]))
    return examples


class KeywordMatcher:
    """Each intent's most distinctive words; the intent with most hits wins."""

    def __init__(self, per_intent: int = 12) -> None:
        self.per_intent = per_intent
        self.keywords: Dict[str, List[str]] = {}

    def fit(self, examples) -> "KeywordMatcher":
        import jieba

        by_intent: Dict[str, Counter] = defaultdict(Counter)
        overall: Counter = Counter()
        for text, intent in examples:
            words = set(w for w in jieba.lcut(text) if w.strip() and len(w) > 1)
            by_intent[intent].update(words)
            overall.update(words)
        for intent, counts in by_intent.items():
            scored = sorted(counts, key=lambda w: (counts[w] / overall[w]) * counts[w], reverse=True)
            self.keywords[intent] = scored[: self.per_intent]
        return self

    def predict(self, text: str) -> str:
        hits = {intent: sum(word in text for word in words) for intent, words in self.keywords.items()}
        best = max(hits.values(), default=0)
        return max(hits, key=hits.get) if best > 0 else FALLBACK


class TfidfLogReg:
    def fit(self, examples) -> "TfidfLogReg":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.model = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=10),
        )
        self.model.fit([t for t, _ in examples], [i for _, i in examples])
        return self

    def predict(self, text: str) -> str:
        return self.model.predict([text])[0]


def rasa_predictions(texts: List[str]) -> List[str]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(ROOT / "models" / "qinkefu.tar.gz"))

    async def parse_all():
        return [(await agent.parse_message(t))["intent"]["name"] for t in texts]

    return asyncio.run(parse_all())


def scores(gold: List[str], predicted: List[str]) -> Dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    # Macro-F1 over the true intents: a fallback (nlu_fallback) counts as a wrong answer, not as a class.
    labels = sorted(set(gold))
    return {
        "accuracy": round(accuracy_score(gold, predicted), 3),
        "macro_f1": round(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0), 3),
        "core_macro_f1": round(f1_score(gold, predicted, labels=CORE_INTENTS, average="macro", zero_division=0), 3),
    }


def cross_validated(make_model, examples) -> Dict[str, float]:
    """5 stratified folds: every example is predicted by a model that did not see it."""
    from sklearn.model_selection import StratifiedKFold

    texts, intents = [t for t, _ in examples], [i for _, i in examples]
    predicted = [""] * len(examples)
    for train_index, test_index in StratifiedKFold(5, shuffle=True, random_state=2026).split(texts, intents):
        model = make_model().fit([examples[i] for i in train_index])
        for i in test_index:
            predicted[i] = model.predict(texts[i])
    return scores(intents, predicted)


def rasa_cross_validation() -> Dict[str, float]:
    report_file = ROOT / "results" / "cross_validation" / "intent_report.json"
    if not report_file.exists():
        return {}
    report = json.loads(report_file.read_text(encoding="utf-8"))
    return {
        "accuracy": round(report["accuracy"], 3),
        "macro_f1": round(report["macro avg"]["f1-score"], 3),
        "core_macro_f1": round(sum(report[c]["f1-score"] for c in CORE_INTENTS) / len(CORE_INTENTS), 3),
    }


def main() -> int:
    train = load_examples(sorted((ROOT / "data" / "nlu").glob("*.yml")))
    test = load_examples([ROOT / "tests" / "nlu" / "test_nlu.yml"])
    texts, gold = [t for t, _ in test], [i for _, i in test]
    keywords, tfidf = KeywordMatcher().fit(train), TfidfLogReg().fit(train)
    results = {
        "keyword matcher": scores(gold, [keywords.predict(t) for t in texts]),
        "TF-IDF + logistic regression": scores(gold, [tfidf.predict(t) for t in texts]),
        "Rasa pipeline (this project)": scores(gold, rasa_predictions(texts)),
    }
    folds = {
        "keyword matcher": cross_validated(KeywordMatcher, train),
        "TF-IDF + logistic regression": cross_validated(TfidfLogReg, train),
        "Rasa pipeline (this project)": rasa_cross_validation(),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlu_baselines.json").write_text(
        json.dumps({"held_in": results, "cross_validation_5_folds": folds}, indent=2, ensure_ascii=False)
    )
    lines = [
        f"Held-in test set: {len(test)} sentences, {len(set(gold))} intents; training: {len(train)} examples.",
        "",
        "| model | accuracy | macro F1 | core-intent macro F1 |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {name} | {r['accuracy']} | {r['macro_f1']} | {r['core_macro_f1']} |" for name, r in results.items()]
    lines += [
        "",
        f"5-fold cross-validation on the {len(train)} training examples (the Rasa row from `make evaluate`):",
        "",
        "| model | accuracy | macro F1 | core-intent macro F1 |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {name} | {r.get('accuracy', 'not run')} | {r.get('macro_f1', 'not run')} | {r.get('core_macro_f1', 'not run')} |"
        for name, r in folds.items()
    ]
    table = "\n".join(lines)
    (out / "nlu_baselines.md").write_text("# NLU: this project vs simple baselines\n\n" + table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
