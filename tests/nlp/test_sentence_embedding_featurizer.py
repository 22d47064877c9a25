"""The sentence-embedding featurizer as a Rasa graph component, with the real bundled model."""

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_server.nlp import sentence_embedding_featurizer as module
from bot.rasa_server.nlp.e5_onnx import SentenceEncoder
from bot.rasa_server.nlp.sentence_embedding_featurizer import SentenceEmbeddingFeaturizer


def build(tmp_path, **config):
    context = ExecutionContext(GraphSchema({}), "test")
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config}, LocalModelStorage(tmp_path), Resource("e5"), context
    )


def vector(message):
    _, sentence = message.get_dense_features(TEXT)
    return sentence.features[0]


def test_wordings_we_never_wrote_land_near_the_same_question(tmp_path):
    featurizer = build(tmp_path)
    stock, stock_reworded, refund = featurizer.process(
        [Message(data={TEXT: t}) for t in ("这款还有现货吗", "请问这个东西现在能买到不 有库存没", "我要退款 东西不要了")]
    )
    assert vector(stock).shape == (384,)
    assert float(vector(stock) @ vector(stock_reworded)) > float(vector(stock) @ vector(refund))
    assert stock.get_dense_features(TEXT)[0] is None  # no sequence features unless asked for


def test_sequence_features_repeat_the_sentence_vector_for_classifiers_that_need_them(tmp_path):
    featurizer = build(tmp_path, sequence_features=True)
    message = Message(data={TEXT: "有货吗", "text_tokens": ["有货", "吗"]})
    [featurised] = featurizer.process([message])
    sequence, sentence = featurised.get_dense_features(TEXT)
    assert sequence.features.shape == (2, 384)
    assert np.allclose(sequence.features[1], sentence.features[0])


def test_retraining_embeds_only_the_examples_it_has_not_seen(tmp_path, monkeypatch):
    featurizer = build(tmp_path, cache_dir=str(tmp_path / "cache"))
    first = TrainingData([Message(data={TEXT: t, "intent": "ask_stock"}) for t in ("有货吗", "还有库存吗")])
    featurizer.process_training_data(first)
    embedded = []
    real_query = SentenceEncoder.query
    monkeypatch.setattr(SentenceEncoder, "query", lambda self, texts: embedded.extend(texts) or real_query(self, texts))
    again = TrainingData([Message(data={TEXT: t, "intent": "ask_stock"}) for t in ("有货吗", "还有库存吗", "补货了没")])
    build(tmp_path, cache_dir=str(tmp_path / "cache")).process_training_data(again)
    assert embedded == ["补货了没"]
    assert np.allclose(vector(again.training_examples[0]), vector(first.training_examples[0]), atol=1e-5)


def test_an_unknown_model_name_is_refused_at_configuration(tmp_path):
    with pytest.raises(InvalidConfigException):
        build(tmp_path, model="some-model-to-download")


def test_the_encoder_is_loaded_once_per_process(tmp_path):
    directory = SentenceEmbeddingFeaturizer.get_default_config()["encoder_dir"]
    build(tmp_path).process([Message(data={TEXT: "在吗"})])
    encoder = module.sentence_encoder("multilingual-e5-small", directory)
    build(tmp_path).process([Message(data={TEXT: "你好"})])
    assert module.sentence_encoder("multilingual-e5-small", directory) is encoder


def test_cached_vectors_are_kept_per_encoder_build(tmp_path):
    """Vectors of one encoder build are never read back for another (the cache is keyed by the
    encoder's fingerprint)."""
    cache = tmp_path / "cache"
    featurizer = build(tmp_path, cache_dir=str(cache))
    featurizer.process_training_data(TrainingData([Message(data={TEXT: "有货吗", "intent": "ask_stock"})]))
    fingerprint = featurizer._encoder().fingerprint
    assert [p.name for p in cache.iterdir()] == [f"multilingual-e5-small-{fingerprint}"]
