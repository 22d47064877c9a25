"""Intent classifiers side by side on the same features: the shipped LinearIntentClassifier, Rasa's
own LogisticRegressionClassifier and Rasa's DIETClassifier, each trained by `rasa train nlu` on
data/nlu with the pipeline of config.yml up to the classifier (normaliser, jieba, spaCy, regex and
count-vector features, the sentence embedding), then measured on the real buyer messages the way
bench/real_language.py measures the shipped model.

Usage: python bench/classifier_comparison.py [PATH_TO_dev.tsv] [--only NAME ...]
Without the evaluation set it says so and exits 0. Writes bench/results/classifier_comparison.{md,json}.
Slow (DIET trains for minutes), so `make bench` does not run it; run it when the pipeline changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import exported_defaults  # noqa: E402

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
os.environ.update(exported_defaults())  # TF_CPP_MIN_LOG_LEVEL ... before TensorFlow is imported

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

import yaml  # noqa: E402

from bench.real_language import DEFAULT_SET, RESULTS, figures, read_set, shipped_predictions  # noqa: E402
from bot.review.routing import RoutingPolicy  # noqa: E402

SHIPPED = "bot.rasa_server.nlp.linear_intent_classifier.LinearIntentClassifier"
EMBEDDING = "bot.rasa_server.nlp.sentence_embedding_featurizer.SentenceEmbeddingFeaturizer"
# name -> (classifier entry replacing the shipped one, changes to the embedding featurizer)
CANDIDATES: Dict[str, Any] = {
    "LinearIntentClassifier (shipped)": (None, {}),
    "Rasa LogisticRegressionClassifier": ({"name": "LogisticRegressionClassifier", "max_iter": 1000}, {}),
    # DIET reads sequence features too: the sentence vector is repeated at every token.
    "Rasa DIETClassifier": (
        {"name": "DIETClassifier", "epochs": 60, "constrain_similarities": True, "entity_recognition": False},
        {"sequence_features": True},
    ),
}


def config_for(base: Dict[str, Any], classifier: Optional[Dict[str, Any]], embedding: Dict[str, Any]) -> Dict[str, Any]:
    config = copy.deepcopy(base)
    pipeline = []
    for component in config["pipeline"]:
        if component["name"] == SHIPPED and classifier is not None:
            component = classifier
        elif component["name"] == EMBEDDING:
            component = {**component, **embedding}
        pipeline.append(component)
    config["pipeline"] = pipeline
    config["policies"] = []
    return config


def train(name: str, config: Dict[str, Any], out: Path) -> float:
    config_path = out / "config.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    start = time.time()
    subprocess.run(
        [sys.executable, "-m", "bot.rasa_server", "train", "nlu", "--config", str(config_path), "--nlu", "data/nlu",
         "--out", str(out), "--fixed-model-name", "nlu"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )
    print(f"{name}: trained in {time.time() - start:.0f} s", flush=True)
    return time.time() - start


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_SET))
    parser.add_argument("--only", nargs="*", default=None, help="a subset of the candidates, by name prefix")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        print(f"classifier_comparison: {path} is not here; nothing to measure (the set is not part of the project).")
        return 0
    texts, gold = read_set(path)
    policy = RoutingPolicy.load(ROOT / "data" / "shop" / "routing.yml")
    base = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    results: Dict[str, Dict[str, Any]] = {}
    for name, (classifier, embedding) in CANDIDATES.items():
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory)
            seconds = train(name, config_for(base, classifier, embedding), out)
            predictions = shipped_predictions(out / "nlu.tar.gz", texts)
        result = figures(predictions, gold, policy)
        result["training_seconds"] = round(seconds)
        results[name] = result
        print(f"{name}: accuracy {result['accuracy']}, core five {result['core_five_accuracy']}", flush=True)
    keys = [("accuracy", "accuracy"), ("core five accuracy", "core_five_accuracy"), ("macro recall", "macro_recall"),
            ("fallback rate", "fallback_rate"), ("auto-sent share", "auto_sent_share"),
            ("auto-sent precision", "auto_sent_precision"), ("training seconds (this machine)", "training_seconds")]
    names = list(results)
    lines = [f"Intent classifiers on the same features, {len(gold)} real buyer messages; routing as "
             "data/shop/routing.yml.", "", "| figure | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    lines += [f"| {label} | " + " | ".join(str(results[n][key]) for n in names) + " |" for label, key in keys]
    lines.append("| NLU CPU ms per message, p50 / p95 | " + " | ".join(
        f"{results[n]['nlu_cpu_ms']['p50']} / {results[n]['nlu_cpu_ms']['p95']}" for n in names) + " |")
    table = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "classifier_comparison.md").write_text("# Intent classifiers compared\n\n" + table + "\n", encoding="utf-8")
    (RESULTS / "classifier_comparison.json").write_text(
        json.dumps({n: {k: v for k, v in r.items() if k != "confusions"} for n, r in results.items()},
                   indent=2, ensure_ascii=False), encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
