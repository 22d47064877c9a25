"""Rasa NLU intent classifier: multinomial logistic regression on the pipeline's features —
TF-IDF-weighted sparse sentence features (jieba words, regexes), character n-grams of the whole
message, and dense sentence features (the sentence embedding) — with calibrated confidences.

The character n-grams are taken over the message as written (normalised), not word by word:
Chinese has no spaces, so n-grams that cross jieba's word boundaries keep phrases whole when
jieba cuts them differently from the training examples.

Confidences: a logistic regression fitted on its own training data is far too sure of itself. At
training time the examples are also predicted by models fitted on the other folds, and one
temperature is chosen that makes those out-of-fold confidences honest (lowest log-loss); the
routing threshold in data/shop/routing.yml is read against these calibrated confidences.

The model is stored as plain arrays (numpy .npz without pickle, and JSON): loading a model
archive never runs code from it.

Why not DIET: on this project's data DIET generalised worse than this linear model on the same
features and took minutes per training instead of seconds (README: "The NLU pipeline").
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_server.nlp import lbfgs

logger = logging.getLogger(__name__)

ARRAYS_FILE = "linear_intent_classifier.npz"
SETTINGS_FILE = "linear_intent_classifier.json"


def _tfidf(counts: scipy.sparse.spmatrix, idf: np.ndarray) -> scipy.sparse.csr_matrix:
    """Sublinear TF-IDF with L2-normalised rows (as scikit-learn's TfidfTransformer)."""
    weighted = scipy.sparse.csr_matrix(counts, dtype=np.float64, copy=True)
    np.log(weighted.data, out=weighted.data)
    weighted.data += 1.0
    weighted = weighted @ scipy.sparse.diags(idf)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return scipy.sparse.csr_matrix(scipy.sparse.diags(1.0 / norms) @ weighted)


def _row_tfidf(indices: np.ndarray, counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """``_tfidf`` of one row given as (column indices, counts): the weights, in that order."""
    weights = (np.log(counts) + 1.0) * idf[indices]
    norm = np.sqrt(weights @ weights)
    return weights / norm if norm else weights


def _idf(counts: scipy.sparse.spmatrix) -> np.ndarray:
    documents = counts.shape[0]
    rows = scipy.sparse.csr_matrix(counts)
    rows.sum_duplicates()
    frequency = np.bincount(rows.indices, minlength=counts.shape[1])
    return np.log((1.0 + documents) / (1.0 + frequency)) + 1.0


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def honest_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that gives out-of-fold scores (rows: examples, columns: classes; ``truth``
    the column of each example's intent) the lowest log-loss: softmax(scores / T) is then as sure
    of itself as it is right on examples it did not see."""

    def log_loss(temperature: float) -> float:
        probabilities = _softmax(scores / temperature)
        return float(-np.mean(np.log(probabilities[np.arange(len(truth)), truth] + 1e-12)))

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))
    return float(min(grid, key=log_loss))


class _CharGrams:
    """Character n-gram counts of whole messages over a fixed vocabulary."""

    def __init__(self, low: int, high: int, vocabulary: Dict[str, int]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self.low, self.high, self.vocabulary = low, high, vocabulary
        self._vectorizer = CountVectorizer(analyzer="char", ngram_range=(low, high), lowercase=True, vocabulary=vocabulary)
        self._analyse: Optional[Any] = None

    @classmethod
    def fit(cls, texts: Sequence[str], low: int, high: int) -> "_CharGrams":
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(analyzer="char", ngram_range=(low, high), lowercase=True).fit(texts)
        return cls(low, high, {term: int(index) for term, index in vectorizer.vocabulary_.items()})

    def counts(self, texts: Sequence[str]) -> scipy.sparse.csr_matrix:
        return self._vectorizer.transform(texts)

    def row(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        """One message's n-gram counts as (column indices, counts): the same n-grams as
        ``counts`` without building a sparse matrix (a message is classified in well under a
        millisecond)."""
        if self._analyse is None:
            self._analyse = self._vectorizer.build_analyzer()
        found = Counter(i for i in map(self.vocabulary.get, self._analyse(text)) if i is not None)
        return np.fromiter(found.keys(), dtype=np.int64, count=len(found)), np.fromiter(
            found.values(), dtype=np.float64, count=len(found)
        )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Inverse regularisation strength: large, because the features are many and sparse
            # and the examples are short.
            "C": 100.0,
            "max_iter": 300,
            # Character n-grams of the whole message; [] leaves them to the pipeline's featurizers.
            "char_ngrams": [1, 3],
            # Scale of the dense sentence features (unit vectors) beside the sparse ones.
            "dense_weight": 2.0,
            # Folds for calibrating the confidences; 0 or 1 keeps the raw probabilities.
            "calibration_folds": 2,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        # {"classes", "coef" (features x intents, contiguous), "intercept", "sparse_idf",
        #  "chars": _CharGrams or None, "chars_idf", "temperature"}
        self._model = model

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs: Any) -> "LinearIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                settings = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
                with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
                    model = cls._model_from(settings, {name: arrays[name] for name in arrays.files})
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("LinearIntentClassifier: no trained model in the archive; every intent is empty.")
            model = None
        return cls(config, model_storage, resource, model)

    @staticmethod
    def _model_from(settings: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Dict[str, Any]:
        chars = None
        if settings.get("char_ngrams"):
            low, high = settings["char_ngrams"]
            terms = arrays["chars_terms"]
            chars = _CharGrams(low, high, {str(term): index for index, term in enumerate(terms)})
        return {
            "classes": [str(c) for c in arrays["classes"]],
            # Scored as features @ coef: contiguous columns, so scipy copies nothing per message.
            "coef": np.ascontiguousarray(arrays["coef"]),
            "intercept": arrays["intercept"],
            "sparse_idf": arrays["sparse_idf"],
            "chars": chars,
            "chars_idf": arrays.get("chars_idf"),
            "dense_weight": float(settings["dense_weight"]),
            "temperature": float(settings["temperature"]),
        }

    def _persist(self, model: Dict[str, Any]) -> None:
        chars: Optional[_CharGrams] = model["chars"]
        arrays = {
            "classes": np.array(model["classes"]),
            "coef": model["coef"],
            "intercept": model["intercept"],
            "sparse_idf": model["sparse_idf"],
        }
        settings = {"dense_weight": model["dense_weight"], "temperature": model["temperature"], "char_ngrams": []}
        if chars is not None:
            terms = [""] * len(chars.vocabulary)
            for term, index in chars.vocabulary.items():
                terms[index] = term
            arrays.update(chars_terms=np.array(terms), chars_idf=model["chars_idf"])
            settings["char_ngrams"] = [chars.low, chars.high]
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / ARRAYS_FILE, **arrays)
            (directory / SETTINGS_FILE).write_text(json.dumps(settings), encoding="utf-8")

    @staticmethod
    def _inputs(message: Message) -> Tuple[Optional[scipy.sparse.csr_matrix], Optional[np.ndarray]]:
        _, sparse = message.get_sparse_features(TEXT)
        _, dense = message.get_dense_features(TEXT)
        return (
            None if sparse is None else scipy.sparse.csr_matrix(sparse.features),
            None if dense is None else np.asarray(dense.features, dtype=np.float64).reshape(1, -1),
        )

    @staticmethod
    def _matrix(model: Dict[str, Any], sparse, dense, texts: List[str]) -> Tuple[scipy.sparse.csr_matrix, Optional[np.ndarray]]:
        """The sparse block (TF-IDF of the pipeline's features and of the character n-grams) and
        the dense block (the weighted sentence embedding), kept apart: dense rows are multiplied
        with BLAS instead of as a sparse matrix."""
        blocks = [_tfidf(sparse, model["sparse_idf"])]
        if model["chars"] is not None:
            blocks.append(_tfidf(model["chars"].counts(texts), model["chars_idf"]))
        return scipy.sparse.hstack(blocks).tocsr(), None if dense is None else dense * model["dense_weight"]

    @staticmethod
    def _scores(
        features: Tuple[scipy.sparse.csr_matrix, Optional[np.ndarray]], coef: np.ndarray, intercept: np.ndarray
    ) -> np.ndarray:
        sparse, dense = features
        scores = np.asarray(sparse @ coef[: sparse.shape[1]]) + intercept
        if dense is not None:
            scores += dense @ coef[sparse.shape[1] :]
        return scores

    def _fit(self, features, labels: List[str]) -> Tuple[List[str], np.ndarray, np.ndarray]:
        """Class-balanced multinomial logistic regression with an L2 penalty, as scikit-learn's
        (``C * weighted log-loss + |W|^2 / 2``, intercepts not penalised), fitted by L-BFGS.
        Returns the classes, the coefficients (features x classes) and the intercepts."""
        sparse, dense = features
        classes, target = np.unique(np.array(labels), return_inverse=True)
        rows, width, k = sparse.shape[0], sparse.shape[1] + (0 if dense is None else dense.shape[1]), len(classes)
        truth = np.zeros((rows, k))
        truth[np.arange(rows), target] = 1.0
        # "balanced": each class weighs as much in total, whatever its number of examples
        weights = (rows / (k * np.bincount(target, minlength=k)))[target][:, None] * self._config["C"]
        sparse_t = sparse.T.tocsr()

        def loss_and_gradient(theta: np.ndarray) -> Tuple[float, np.ndarray]:
            coef, intercept = theta[: width * k].reshape(width, k), theta[width * k :]
            log_p = self._scores(features, coef, intercept)
            log_p -= log_p.max(axis=1, keepdims=True)
            log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
            residual = weights * (np.exp(log_p) - truth)
            gradient = np.empty_like(coef)
            gradient[: sparse.shape[1]] = sparse_t @ residual
            if dense is not None:
                gradient[sparse.shape[1] :] = dense.T @ residual
            gradient += coef
            loss = -float(np.sum(weights * truth * log_p)) + 0.5 * float(np.sum(coef * coef))
            return loss, np.concatenate([gradient.ravel(), residual.sum(axis=0)])

        theta = lbfgs.minimise(loss_and_gradient, np.zeros(width * k + k), int(self._config["max_iter"]))
        coef, intercept = theta[: width * k].reshape(width, k), theta[width * k :]
        return [str(c) for c in classes], np.ascontiguousarray(coef), intercept

    def _temperature(self, features: Tuple[scipy.sparse.csr_matrix, Optional[np.ndarray]], labels: List[str]) -> float:
        """The temperature that gives the out-of-fold predictions the lowest log-loss."""
        from sklearn.model_selection import StratifiedKFold

        folds = int(self._config["calibration_folds"])
        counts = np.unique(labels, return_counts=True)[1]
        sparse, dense = features
        if folds < 2 or counts.min() < folds:
            return 1.0
        scores, truth = [], []
        target = np.array(labels)
        for train, held in StratifiedKFold(folds, shuffle=True, random_state=2026).split(np.zeros(len(labels)), target):
            part = lambda rows: (sparse[rows], None if dense is None else dense[rows])  # noqa: E731
            classes, coef, intercept = self._fit(part(train), list(target[train]))
            index = {name: i for i, name in enumerate(classes)}
            scores.append(self._scores(part(held), coef, intercept))
            truth.append(np.array([index[name] for name in target[held]]))
        return honest_temperature(np.vstack(scores), np.concatenate(truth))

    def train(self, training_data: TrainingData) -> Resource:
        sparse_rows, dense_rows, texts, labels = [], [], [], []
        for example in training_data.intent_examples:
            sparse, dense = self._inputs(example)
            if sparse is not None and example.get(INTENT):
                sparse_rows.append(sparse)
                dense_rows.append(dense)
                texts.append(example.get(TEXT) or "")
                labels.append(example.get(INTENT))
        if len(set(labels)) < 2:
            logger.warning("LinearIntentClassifier: fewer than two intents with features; not trained.")
            return self._resource
        counts = scipy.sparse.vstack(sparse_rows)
        model: Dict[str, Any] = {
            "sparse_idf": _idf(counts),
            "chars": None,
            "chars_idf": None,
            "dense_weight": float(self._config["dense_weight"]),
        }
        if self._config["char_ngrams"]:
            low, high = self._config["char_ngrams"]
            model["chars"] = _CharGrams.fit(texts, low, high)
            model["chars_idf"] = _idf(model["chars"].counts(texts))
        dense_arrays = [d for d in dense_rows if d is not None]
        dense = np.vstack(dense_arrays) if len(dense_arrays) == len(dense_rows) else None
        features = self._matrix(model, counts, dense, texts)
        model["temperature"] = self._temperature(features, labels)
        model["classes"], model["coef"], model["intercept"] = self._fit(features, labels)
        logger.info("LinearIntentClassifier: %d examples, temperature %.2f.", len(labels), model["temperature"])
        self._model = model
        self._persist(model)
        return self._resource

    def probabilities(self, message: Message) -> Optional[np.ndarray]:
        """The calibrated intent probabilities of one message (classes in ``_model["classes"]``
        order); the same figures as scoring ``_matrix`` rows, computed on the nonzero columns."""
        sparse, dense = self._inputs(message)
        if sparse is None or not self._model:
            return None
        model = self._model
        coef = model["coef"]
        row = sparse.tocoo()
        columns, counts = row.col.astype(np.int64), row.data.astype(np.float64)
        if len(columns) != len(np.unique(columns)):
            row.sum_duplicates()
            columns, counts = row.col.astype(np.int64), row.data.astype(np.float64)
        keep = counts > 0
        columns, counts = columns[keep], counts[keep]
        scores = model["intercept"] + _row_tfidf(columns, counts, model["sparse_idf"]) @ coef[columns]
        offset = sparse.shape[1]
        if model["chars"] is not None:
            char_columns, char_counts = model["chars"].row(message.get(TEXT) or "")
            scores = scores + _row_tfidf(char_columns, char_counts, model["chars_idf"]) @ coef[offset + char_columns]
            offset += len(model["chars"].vocabulary)
        if dense is not None:
            scores = scores + (dense[0] * model["dense_weight"]) @ coef[offset:]
        return _softmax(scores[None, :] / model["temperature"])[0]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            probabilities = self.probabilities(message)
            if probabilities is None:
                message.set(INTENT, {"name": None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            assert self._model is not None  # probabilities() is None without a model
            order = np.argsort(-probabilities)[: self._config["ranking_length"]]
            ranking = [{"name": self._model["classes"][i], PREDICTED_CONFIDENCE_KEY: float(probabilities[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
