"""Rasa NLU intent classifier: logistic regression on the TF-IDF-weighted sparse features of the
pipeline's featurizers (jieba words, regexes) and on character n-grams of the whole message.

The character n-grams are taken over the message as written (normalised), not word by word:
Chinese has no spaces, so n-grams that cross jieba's word boundaries keep phrases whole when
jieba cuts them differently from the training examples.

Why not DIET: on this project's data (short Chinese messages, about 5,000 examples, 28 intents)
DIET generalised worse than a linear model on the same features, and took minutes per training
instead of seconds (README: "The NLU pipeline").
"""

from __future__ import annotations

import logging
import pickle
from typing import Any, Dict, List, Optional, Text

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

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intent_classifier.pkl"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Inverse regularisation strength: large, because the features are many and sparse
            # and the examples are short; it also keeps confident predictions near 1.
            "C": 100.0,
            "max_iter": 5000,
            # Character n-grams of the whole message; [] leaves them to the pipeline's featurizers.
            "char_ngrams": [1, 3],
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
        # {"tfidf": TfidfTransformer, "chars": TfidfVectorizer or None, "classifier": LogisticRegression}
        self._model = model

    @staticmethod
    def _ready_for_prediction(model: Dict[str, Any]) -> Dict[str, Any]:
        """scikit-learn scores a message as features @ coef_.T; scipy copies that matrix (intents x
        55,000 features) at every message unless its rows are contiguous: 2.9 ms per message, 0.1 ms
        with the coefficients stored column by column. The probabilities are the same."""
        classifier = model.get("classifier")
        if classifier is not None:
            classifier.coef_ = np.asfortranarray(classifier.coef_)
        return model

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs: Any) -> "LinearIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                # The file is written by this component into the project's own model archive.
                model = cls._ready_for_prediction(pickle.loads((directory / MODEL_FILE).read_bytes()))
        except (ValueError, FileNotFoundError):
            logger.warning("LinearIntentClassifier: no trained model in the archive; every intent is empty.")
            model = None
        return cls(config, model_storage, resource, model)

    @staticmethod
    def _features(message: Message) -> Optional[scipy.sparse.csr_matrix]:
        _, sentence = message.get_sparse_features(TEXT)
        return None if sentence is None else scipy.sparse.csr_matrix(sentence.features)

    def _matrix(self, features: scipy.sparse.spmatrix, texts: List[str]) -> scipy.sparse.csr_matrix:
        weighted = self._model["tfidf"].transform(features)
        if self._model.get("chars") is None:
            return weighted
        return scipy.sparse.hstack([weighted, self._model["chars"].transform(texts)]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        rows, texts, labels = [], [], []
        for example in training_data.intent_examples:
            features = self._features(example)
            if features is not None and example.get(INTENT):
                rows.append(features)
                texts.append(example.get(TEXT) or "")
                labels.append(example.get(INTENT))
        if len(set(labels)) < 2:
            logger.warning("LinearIntentClassifier: fewer than two intents with features; not trained.")
            return self._resource
        features = scipy.sparse.vstack(rows)
        chars = None
        if self._config["char_ngrams"]:
            low, high = self._config["char_ngrams"]
            chars = TfidfVectorizer(analyzer="char", ngram_range=(low, high), sublinear_tf=True, lowercase=True)
            chars.fit(texts)
        self._model = {"tfidf": TfidfTransformer(sublinear_tf=True).fit(features), "chars": chars}
        classifier = LogisticRegression(
            C=self._config["C"], max_iter=self._config["max_iter"], class_weight="balanced"
        )
        classifier.fit(self._matrix(features, texts), labels)
        self._model["classifier"] = classifier
        self._ready_for_prediction(self._model)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(self._model))
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            features = self._features(message) if self._model else None
            if features is None:
                message.set(INTENT, {"name": None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            classifier = self._model["classifier"]
            probabilities = classifier.predict_proba(self._matrix(features, [message.get(TEXT) or ""]))[0]
            order = np.argsort(-probabilities)[: self._config["ranking_length"]]
            ranking = [
                {"name": str(classifier.classes_[i]), PREDICTED_CONFIDENCE_KEY: float(probabilities[i])} for i in order
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
