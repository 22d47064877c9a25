"""Rasa NLU component wrapping TextNormaliser; first in the pipeline (config.yml)."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_server.nlp.normalise import TextNormaliser, build_pinyin_index

STATE_FILE = "normaliser.json"
INTENT_PAYLOAD = re.compile(r"^/[A-Za-z_]")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=True)
class ChineseTextNormaliser(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_file": "data/shop/lexicon.yml"}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        state: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._state = state or {"slang": {}, "pinyin_index": {}, "pasted_labels": []}
        self._normaliser = self._build(self._state)

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext) -> "ChineseTextNormaliser":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs: Any) -> "ChineseTextNormaliser":
        try:
            with model_storage.read_from(resource) as directory:
                state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            state = None
        return cls(config, model_storage, resource, state)

    @staticmethod
    def _build(state: Dict[str, Any]) -> TextNormaliser:
        return TextNormaliser(state["slang"], state["pinyin_index"], state.get("pasted_labels", []), state.get("emoji_only"))

    def train(self, training_data: TrainingData) -> Resource:
        with open(self._config["lexicon_file"], encoding="utf-8") as handle:
            lexicon = yaml.safe_load(handle)
        state = {
            "slang": lexicon.get("slang") or {},
            "pinyin_index": {},
            "pasted_labels": lexicon.get("pasted_labels") or [],
            "emoji_only": lexicon.get("emoji_only") or {},
        }
        plain = self._build(state)
        texts = [plain.normalise(m.get(TEXT)) for m in training_data.training_examples if m.get(TEXT)]
        self._state = {**state, "pinyin_index": build_pinyin_index(texts)}
        self._normaliser = self._build(self._state)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / STATE_FILE).write_text(json.dumps(self._state, ensure_ascii=False), encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            # Annotated entities point into the text as written: leave those examples alone.
            if message.get(TEXT) and not message.get(ENTITIES):
                message.set(TEXT, self._normaliser.normalise(message.get(TEXT)))
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            # "/intent{...}" is a button payload for Rasa; "/:018" is an emoticon code a buyer sent.
            if text and not INTENT_PAYLOAD.match(text):
                message.set(TEXT, self._normaliser.normalise(text))
        return messages
