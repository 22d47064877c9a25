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

from bot.rasa_server.nlp.linear_intent_classifier import LinearIntentClassifier

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
    # Scored as features @ coef without copying the coefficients at every message.
    assert reloaded._model["coef"].flags["C_CONTIGUOUS"]


def test_the_archive_holds_plain_arrays_and_no_pickle(storage, tmp_path):
    classifier = build(storage)
    classifier.train(TrainingData([message(words, intent) for words, intent in TRAINING]))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == ["linear_intent_classifier.json", "linear_intent_classifier.npz"]
    # Loading refuses pickled objects, so a swapped-in archive cannot run code.
    [arrays] = [p for p in files if p.suffix == ".npz"]
    with np.load(arrays, allow_pickle=False) as loaded:
        assert set(loaded.files) >= {"classes", "coef", "intercept", "sparse_idf", "chars_terms", "chars_idf"}
        assert sorted(loaded["classes"]) == ["ask_ship_time", "ask_stock", "haggle"]


def with_sentence_vector(result, vector):
    result.add_features(Features(np.array([vector], dtype=float), "sentence", TEXT, "SentenceEmbeddingFeaturizer"))
    return result


def test_dense_sentence_features_decide_when_the_words_are_new(storage):
    # The same unknown word in every example; only the sentence embedding tells the intents apart.
    examples = [with_sentence_vector(message(["吗"], intent), vector)
                for intent, vector in [("ask_stock", [1, 0]), ("haggle", [0, 1])] for _ in range(4)]
    classifier = build(storage, {"char_ngrams": [], "calibration_folds": 0})
    classifier.train(TrainingData(examples))
    [near_stock] = classifier.process([with_sentence_vector(message(["呢"]), [0.9, 0.1])])
    [near_haggle] = classifier.process([with_sentence_vector(message(["呢"]), [0.2, 0.8])])
    assert near_stock.get("intent")["name"] == "ask_stock"
    assert near_haggle.get("intent")["name"] == "haggle"


def one_hot(index, size, intent=None):
    counts = np.zeros((1, size))
    counts[0, index] = 1
    result = Message(data={TEXT: f"w{index}", **({"intent": intent} if intent else {})})
    result.add_features(Features(scipy.sparse.coo_matrix(counts), "sentence", TEXT, "CountVectorsFeaturizer"))
    return result


def test_calibration_tempers_a_model_that_memorised_its_examples(storage, tmp_path):
    # Every example is one unseen word, so the fitted model is sure of what it memorised but knows
    # nothing about a new message: the out-of-fold confidences show it and the temperature rises.
    (tmp_path / "raw").mkdir()
    (tmp_path / "calibrated").mkdir()
    raw = build(LocalModelStorage(tmp_path / "raw"), {"calibration_folds": 0, "char_ngrams": []})
    calibrated = build(LocalModelStorage(tmp_path / "calibrated"), {"calibration_folds": 3, "char_ngrams": []})
    examples = [one_hot(i, 31, ["ask_stock", "haggle", "ask_ship_time"][i % 3]) for i in range(30)]
    for classifier in (raw, calibrated):
        classifier.train(TrainingData(examples))
    assert raw._model["temperature"] == 1.0 and calibrated._model["temperature"] > 2.0
    [sure] = raw.process([one_hot(4, 31)])
    [tempered] = calibrated.process([one_hot(4, 31)])
    assert sure.get("intent")["name"] == tempered.get("intent")["name"] == "haggle"
    assert tempered.get("intent")["confidence"] < sure.get("intent")["confidence"]


def test_a_message_with_no_features_gets_no_intent(storage):
    classifier = build(storage)
    classifier.train(TrainingData([message(words, intent) for words, intent in TRAINING]))
    [empty] = classifier.process([Message(data={TEXT: ""})])
    assert empty.get("intent") == {"name": None, "confidence": 0.0}
    assert empty.get("intent_ranking") == []


def test_an_untrained_archive_answers_no_intent_instead_of_failing(storage):
    [result] = build(storage, load=True).process([message(["有货"])])
    assert result.get("intent")["name"] is None


def test_one_message_is_scored_as_the_training_matrix_scores_it(storage):
    """The per-message fast path (nonzero columns only) gives the probabilities of the batch
    matrix path used at training time, with character n-grams and dense features."""
    rng = np.random.RandomState(3)

    def with_dense(words, intent=None):
        result = message(words, intent)
        result.add_features(Features(rng.normal(size=(1, 4)), "sentence", TEXT, "SentenceEmbeddingFeaturizer"))
        return result

    classifier = build(storage, {"ranking_length": 3})
    classifier.train(TrainingData([with_dense(words, intent) for words, intent in TRAINING]))
    model = classifier._model
    for words in (["有货", "吗", "吗"], ["便宜"], ["掉色", "退货"], ["未知"]):
        probe = with_dense(words)
        sparse, dense = classifier._inputs(probe)
        expected = LinearIntentClassifier._scores(
            LinearIntentClassifier._matrix(model, sparse, dense, [probe.get(TEXT)]), model["coef"], model["intercept"]
        )
        expected = np.exp(expected / model["temperature"] - np.max(expected / model["temperature"]))
        np.testing.assert_allclose(classifier.probabilities(probe), (expected / expected.sum())[0], rtol=1e-9, atol=1e-12)
