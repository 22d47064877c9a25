"""Routing policy, the durable review queue and agent accounts, on real SQLite files."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.db_schema import GATEWAY
from bot.gateway.store import GatewayStore
from bot.review.agents import AgentAccounts, check_password, hash_password
from bot.review.queue import AlreadyHandled, ReviewQueue
from bot.review.routing import RoutingPolicy
from tests.conftest import ROOT, migrated


@pytest.fixture
def policy():
    return RoutingPolicy.load(ROOT / "data/shop/routing.yml")


def parse(intent, confidence=0.97):
    return [{"intent": intent, "confidence": confidence}]


def test_routing_follows_the_shop_policy(policy):
    assert not policy.decide(parse("greet"), {}).review
    assert not policy.decide(parse("ask_ship_time"), {}).review
    assert policy.decide(parse("ask_ship_time", 0.6), {}).review
    # After-sale questions get their first, apologising answer at once ...
    assert not policy.decide(parse("request_return"), {}, replies=[{"response": "utter_ask_order_id"}]).review
    assert not policy.decide(parse("complain"), {}, replies=[{"response": "utter_complain_apology"}]).review
    # ... and whatever commits the shop (a refund, a re-send, a registered return) waits for an agent.
    refund = [{"response": "utter_problem_apology"}, {"response": "utter_return_quality_refund"}]
    assert policy.decide(parse("affirm"), {}, replies=refund).review
    assert "utter_return_quality_refund" in policy.decide(parse("affirm"), {}, replies=refund).reason
    assert policy.decide(parse("price_difference"), {}, replies=[{"response": "utter_price_refund"}]).review
    assert policy.decide(parse("wrong_item"), {}, replies=[{"response": "utter_wrong_item_resend"}]).review
    assert not policy.decide(parse("haggle"), {}).review  # the first refusal goes out
    assert policy.decide(parse("haggle"), {"haggle": 1}).review
    assert policy.decide(parse("ask_stock"), {}, taken_over_by="alice").review
    several = [{"intent": "ask_stock", "confidence": 0.99}, {"intent": "price_difference", "confidence": 0.6}]
    assert policy.decide(several, {}).review
    assert policy.sla(10) == "green" and policy.sla(61) == "amber" and policy.sla(181) == "red"


def queue_on(path):
    return ReviewQueue(sa.create_engine(migrated(f"sqlite:///{path}", GATEWAY), future=True, connect_args={"check_same_thread": False, "timeout": 15}))


def test_exactly_one_of_many_concurrent_agents_wins(tmp_path):
    queue = queue_on(tmp_path / "g.db")
    suggestion = queue.record_turn("s-00000001", "B001", "我要退货", parse("request_return"), [{"text": "亲…"}], True, "always")
    outcomes = []

    def agent(name):
        try:
            queue.claim(suggestion["id"], name, "sent")
            outcomes.append(("won", name))
        except AlreadyHandled as error:
            outcomes.append(("lost", error.handled_by))

    threads = [threading.Thread(target=agent, args=(f"agent{i}",)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [name for result, name in outcomes if result == "won"]
    assert len(winners) == 1
    assert all(by == winners[0] for result, by in outcomes if result == "lost")
    assert queue.get(suggestion["id"])["handled_by"] == winners[0]


def test_pending_suggestions_survive_a_restart(tmp_path):
    queue = queue_on(tmp_path / "g.db")
    held = queue.record_turn("s-00000002", None, "能退差价吗", parse("price_difference"), [{"text": "亲，帮您核实了"}], True, "always")
    queue.record_turn("s-00000002", None, "你好", parse("greet"), [{"text": "亲，您好"}], False, "auto")
    queue.engine.dispose()
    reopened = queue_on(tmp_path / "g.db")
    [pending] = reopened.pending()
    assert pending["id"] == held["id"] and pending["replies"] == [{"text": "亲，帮您核实了"}]
    reopened.claim(held["id"], "bob", "sent")
    with pytest.raises(AlreadyHandled):
        queue_on(tmp_path / "g.db").claim(held["id"], "carol", "sent")


def test_metrics_count_outcomes_per_intent(tmp_path):
    queue = queue_on(tmp_path / "g.db")
    a = queue.record_turn("s", None, "x", parse("haggle"), [], True, "")
    b = queue.record_turn("s", None, "y", parse("haggle"), [], True, "")
    queue.record_turn("s", None, "z", parse("greet"), [], False, "")
    queue.claim(a["id"], "alice", "sent")
    queue.claim(b["id"], "alice", "edited", final_text="亲，好的")
    metrics = queue.metrics()
    assert metrics["per_intent"]["haggle"]["accepted"] == 1 and metrics["per_intent"]["haggle"]["edited"] == 1
    assert metrics["auto_send_share"] == round(1 / 3, 3) and metrics["median_review_seconds"] is not None


def test_takeover_and_waiting_for_a_human(tmp_path):
    queue = queue_on(tmp_path / "g.db")
    queue.request_human("s-1")
    assert [w["session_id"] for w in queue.waiting_for_human()] == ["s-1"]
    queue.take_over("s-1", "alice")
    assert queue.taken_over_by("s-1") == "alice" and queue.waiting_for_human() == []
    queue.hand_back("s-1")
    assert queue.taken_over_by("s-1") is None


def test_a_recorded_turn_reads_back_as_recorded_and_counts_for_routing(tmp_path):
    queue = queue_on(tmp_path / "g.db")
    assert queue.routing_state("s-2") == ({}, None)
    first = queue.record_turn("s-2", "B001", "能便宜点吗", parse("haggle"), [{"text": "亲，已经是最低价了哦"}], False, "auto")
    assert first == queue.get(first["id"])
    rejected = queue.record_turn("s-2", "B001", "还能便宜吗", parse("haggle"), [{"text": "亲"}], True, "review")
    queue.claim(rejected["id"], "alice", "rejected")
    queue.record_turn("s-2", "B001", "有货吗", parse("ask_stock"), [{"text": "亲，有货"}], False, "auto")
    queue.record_turn("s-other", None, "有货吗", parse("ask_stock"), [{"text": "亲，有货"}], False, "auto")
    queue.take_over("s-2", "bob")
    assert queue.routing_state("s-2") == ({"haggle": 1, "ask_stock": 1}, "bob")


def test_passwords_are_hashed_with_scrypt_and_sessions_expire(tmp_path):
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert check_password("correct horse", stored) and not check_password("wrong", stored)
    store = GatewayStore(migrated(f"sqlite:///{tmp_path / 'g.db'}", GATEWAY))
    accounts = AgentAccounts(store.engine, session_hours=1)
    accounts.add("alice", "correct horse")
    assert accounts.login("alice", "nope") is None and accounts.login("nobody", "correct horse") is None
    token = accounts.login("alice", "correct horse")
    assert accounts.who(token) == {"username": "alice", "role": "agent"}
    accounts.session_lifetime = timedelta(seconds=-1)
    expired = accounts.login("alice", "correct horse")
    assert accounts.who(expired) is None
    accounts.logout(token)
    assert accounts.who(token) is None
    with pytest.raises(ValueError):
        accounts.add("bob", "short")


def test_unlisted_intents_follow_the_policy_default(policy):
    import dataclasses

    assert not policy.decide(parse("ask_invoice"), {}).review
    assert dataclasses.replace(policy, review_unlisted=True).decide(parse("ask_invoice"), {}).review
    assert policy.decide(parse("nlu_fallback", 0.99), {}).review


def test_every_reply_that_commits_the_shop_is_held_for_an_agent(policy):
    import yaml

    responses = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    assert set(policy.review_replies) <= set(responses), "review_replies names a response the domain lacks"
    # The replies that announce a refund, an exchange, a re-send or a registered return.
    committing = {name for name in responses if name.startswith(("utter_return_quality_", "utter_return_non_quality"))}
    committing |= {"utter_return_recorded", "utter_price_refund", "utter_wrong_item_resend", "utter_wrong_item_exchange"}
    assert committing <= set(policy.review_replies)
