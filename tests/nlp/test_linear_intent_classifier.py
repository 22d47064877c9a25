"""The project's intent classifier as a Rasa graph component: trained on sparse sentence features,
it ranks intents, persists into the model storage and loads back with the same predictions."""

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.linear_intent_classifier import LinearIntentClassifier

VOCABULARY = ["有货", "发货", "便宜", "掉色", "退货", "吗", "呢"]


def message(words, intent=None):
    counts = np.array([[words.count(w) for w in VOCABULARY]], dtype=float)
    result = Message(data={TEXT: " ".join(words), **({"intent": intent} if intent else {})})
    result.add_features(Features(scipy.sparse.coo_matrix(counts), "sentence", TEXT, "CountVectorsFeaturizer"))
    return result


TRAINING = [
    (["有货", "吗"], "ask_stock"), (["有货", "呢"], "ask_stock"), (["有货"], "ask_stock"),
    (["发货", "吗"], "ask_ship_time"), (["发货", "呢"], "ask_ship_time"), (["发货"], "ask_ship_time"),
    (["便宜", "吗"], "haggle"), (["便宜", "呢"], "haggle"), (["便宜"], "haggle"),
]


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def build(storage, config=None, load=False):
    context = ExecutionContext(GraphSchema({}), "test")
    cls_method = LinearIntentClassifier.load if load else LinearIntentClassifier.create
    return cls_method({**LinearIntentClassifier.get_default_config(), **(config or {})}, storage, Resource("linear"), context)


def test_ranks_intents_and_loads_back_with_the_same_predictions(storage):
    classifier = build(storage, {"ranking_length": 2})
    classifier.train(TrainingData([message(words, intent) for words, intent in TRAINING]))
    [fresh] = classifier.process([message(["发货", "吗"])])
    assert fresh.get("intent")["name"] == "ask_ship_time"
    assert fresh.get("intent")["confidence"] > 0.5
    ranking = fresh.get("intent_ranking")
    assert [r["name"] for r in ranking][0] == "ask_ship_time" and len(ranking) == 2
    assert ranking[0]["confidence"] >= ranking[1]["confidence"]

    reloaded = build(storage, {"ranking_length": 2}, load=True)
    [loaded] = reloaded.process([message(["发货", "吗"])])
    assert loaded.get("intent") == fresh.get("intent")
    assert loaded.get("intent_ranking") == ranking
    # Scored as features @ coef_.T without copying the coefficients at every message.
    assert reloaded._model["classifier"].coef_.T.flags["C_CONTIGUOUS"]


def test_a_message_with_no_features_gets_no_intent(storage):
    classifier = build(storage)
    classifier.train(TrainingData([message(words, intent) for words, intent in TRAINING]))
    [empty] = classifier.process([Message(data={TEXT: ""})])
    assert empty.get("intent") == {"name": None, "confidence": 0.0}
    assert empty.get("intent_ranking") == []


def test_an_untrained_archive_answers_no_intent_instead_of_failing(storage):
    [result] = build(storage, load=True).process([message(["有货"])])
    assert result.get("intent")["name"] is None
