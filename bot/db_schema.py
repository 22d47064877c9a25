"""The schema of the project's own databases, in one place: every table of the shop (orders
database) and of the gateway (gateway database: sessions, messages, review, agents, training).
Rasa's tracker store tables are Rasa's and not here.

Nothing here creates tables: the migrations under bot/migrations do (bot.db_migrate.upgrade, run
at start-up by `make run`, `make run-prod` and `python -m bot seed` / `migrate`). A change to a
table here needs a new revision there; tests/schema checks that the migrations and this module
agree."""

from __future__ import annotations

from typing import Dict, Tuple

import sqlalchemy as sa

metadata = sa.MetaData()

# -- the shop: catalogue, buyers, orders and their after-sale records (ORDERS_DB_URL) ---------------
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("aliases", sa.Text, nullable=False, default="[]"),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("material", sa.Text, nullable=False),
    sa.Column("features", sa.Text, nullable=False),
    sa.Column("care", sa.Text, nullable=False),
    sa.Column("fades", sa.String(16), nullable=False),
    sa.Column("quality_note", sa.Text, nullable=False),
    sa.Column("usage_note", sa.Text, nullable=False),
    sa.Column("image", sa.Text, nullable=False),
)
skus = sa.Table(
    "skus",
    metadata,
    sa.Column("product_id", sa.String(16), sa.ForeignKey("products.id"), primary_key=True),
    sa.Column("color", sa.String(16), primary_key=True),
    sa.Column("size", sa.String(16), primary_key=True),
    sa.Column("price", sa.Numeric(10, 2, asdecimal=False), nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("restock_at", sa.DateTime(timezone=True)),
    sa.Column("position", sa.Integer, nullable=False, default=0),  # catalogue order
)
price_history = sa.Table(
    "price_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product_id", sa.String(16), sa.ForeignKey("products.id"), nullable=False),
    sa.Column("price", sa.Numeric(10, 2, asdecimal=False), nullable=False),
    sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
)
buyers = sa.Table(
    "buyers",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("province", sa.String(32), nullable=False),
)
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(19), primary_key=True),
    sa.Column("buyer_id", sa.String(32), sa.ForeignKey("buyers.id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("paid_at", sa.DateTime(timezone=True)),
    sa.Column("shipped_at", sa.DateTime(timezone=True)),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("courier", sa.String(16)),
    sa.Column("tracking_no", sa.String(32)),
    sa.Column("province", sa.String(32), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
)
order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(19), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("product_id", sa.String(16), nullable=False),
    sa.Column("color", sa.String(16), nullable=False),
    sa.Column("size", sa.String(16), nullable=False),
    sa.Column("qty", sa.Integer, nullable=False),
    sa.Column("unit_price", sa.Numeric(10, 2, asdecimal=False), nullable=False),
)
tracking_events = sa.Table(
    "tracking_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(19), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)
return_requests = sa.Table(
    "return_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(19), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("buyer_id", sa.String(32), nullable=False, index=True),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("postage_payer", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
price_refunds = sa.Table(
    "price_refunds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(19), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("buyer_id", sa.String(32), nullable=False),
    sa.Column("amount", sa.Numeric(10, 2, asdecimal=False), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
# Wrong phone tails per order (bot.shop.phone_lock), in the orders database so every action server
# replica shares the count.
phone_tail_failures = sa.Table(
    "phone_tail_failures",
    metadata,
    sa.Column("order_id", sa.String(32), primary_key=True),  # as the buyer typed it (known or not)
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# -- the gateway: buyer sessions, message history, pending order events (GATEWAY_DB_URL) ----------
gateway_sessions = sa.Table(
    "gateway_sessions",
    metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("buyer_id", sa.String(32), index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)
gateway_messages = sa.Table(
    "gateway_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),  # buyer | bot | agent | system
    sa.Column("text", sa.Text, nullable=False, default=""),
    sa.Column("extra", sa.Text, nullable=False, default="{}"),  # buttons, card, image, parse
    sa.Column("client_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("session_id", "client_id", name="uq_message_client_id"),
)
gateway_pending_events = sa.Table(
    "gateway_pending_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("buyer_id", sa.String(32), nullable=False, index=True),
    sa.Column("order_id", sa.String(19), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# -- review: agent accounts and logins, the review queue, training candidates (gateway database) --
agent_accounts = sa.Table(
    "agent_accounts",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
agent_logins = sa.Table(
    "agent_logins",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
review_suggestions = sa.Table(
    "review_suggestions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("buyer_id", sa.String(32)),
    sa.Column("buyer_text", sa.Text, nullable=False, default=""),
    sa.Column("intent", sa.String(64)),
    sa.Column("confidence", sa.Float),
    sa.Column("parse", sa.Text, nullable=False, default="[]"),
    sa.Column("replies", sa.Text, nullable=False, default="[]"),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    # auto_sent | pending | sent | edited | rejected
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("handled_by", sa.String(64)),
    sa.Column("final_text", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("handled_at", sa.DateTime(timezone=True)),
)
review_conversations = sa.Table(
    "review_conversations",
    metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("taken_over_by", sa.String(64)),
    sa.Column("human_requested_at", sa.DateTime(timezone=True)),
)
# Every time a conversation went to a human (the buyer asked, or the bot could not answer, or an agent
# took it over), kept for the owner's analytics (review_conversations holds only the current state).
review_handoffs = sa.Table(
    "review_handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # requested | taken_over
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
training_candidates = sa.Table(
    "training_candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("predicted_intent", sa.String(64)),
    sa.Column("correct_intent", sa.String(64)),
    sa.Column("source", sa.String(16), nullable=False),  # rejected | edited
    sa.Column("agent", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | accepted | dismissed
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Quick phrases of the agent console: the shop's own list, edited by its agents.
quick_phrases = sa.Table(
    "quick_phrases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # may hold {variables} filled from the conversation
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# -- training: jobs and the model history of the trainer console (gateway database) -------------
training_jobs = sa.Table(
    "training_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # queued (waiting for a training worker) | training | evaluating | swapped | kept | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("model", sa.String(128)),
    sa.Column("accuracy", sa.Float),
    sa.Column("previous_accuracy", sa.Float),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # The component `rasa train` is training now (or evaluate | baseline | load_model), why a job
    # failed (a code the console words), {"total": n, "steps": [seconds at each component done],
    # "trained": seconds} for the next job's estimate, and which process runs it and when it was
    # last alive (a job left running by a stopped gateway is marked failed).
    sa.Column("stage", sa.String(64)),
    sa.Column("reason", sa.String(32)),
    sa.Column("timings", sa.Text),
    sa.Column("owner", sa.String(128)),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    # The trainer asked for the model to go live even when it evaluates worse than the active one.
    sa.Column("confirm_worse", sa.Boolean, nullable=False, server_default=sa.false()),
)
trained_models = sa.Table(
    "trained_models",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accuracy", sa.Float),
    sa.Column("macro_f1", sa.Float),
    sa.Column("real_accuracy", sa.Float),  # on real buyer messages, where measured (bench/real_language.py)
    sa.Column("report_dir", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, default=False),
    # The evaluation's intent report and errors (JSON), for the console: the worker that wrote
    # report_dir may have been another machine's (a Kubernetes Job).
    sa.Column("report", sa.Text),
)
# The trainer's edits of the training data (domain.yml, data/nlu|rules|stories/*.yml), by path; a
# document nobody edited is the shipped file (bot/training/documents.py). ``revision`` counts the
# edits: an edit is stored only if the revision it read is still there.
training_documents = sa.Table(
    "training_documents",
    metadata,
    sa.Column("path", sa.String(255), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False, default=""),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The shipped file this text was edited from: a newer release's file is merged with the
    # trainer's text (bot/training/merge.py). NULL for texts stored before gateway_0008.
    sa.Column("base_text", sa.Text),
)

# The owner's analytics: the figures of a day that is over and can no longer change, computed once
# (bot/review/analytics_days.py). ``upto_*``: the highest id of each source table when they were
# computed; a row written later into that day makes the page compute it again.
analytics_days = sa.Table(
    "analytics_days",
    metadata,
    sa.Column("zone", sa.String(64), primary_key=True),
    sa.Column("sla_seconds", sa.Float, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),  # the shop's local day, YYYY-MM-DD
    sa.Column("figures", sa.Text, nullable=False),  # JSON: the day's aggregates (bot/review/analytics.py)
    sa.Column("upto_suggestion", sa.Integer, nullable=False),
    sa.Column("upto_message", sa.Integer, nullable=False),
    sa.Column("upto_handoff", sa.Integer, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
)

# -- the event stream: every conversation event Rasa published, once (gateway database) ----------
# Written by `python -m bot events` from RabbitMQ (bot/events); read by analytics. A redelivered
# message finds its row by the unique key and is not stored twice.
conversation_events = sa.Table(
    "conversation_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),  # Rasa's event name: user, bot, action, slot, ...
    sa.Column("timestamp", sa.Float(precision=53), nullable=False),  # Rasa's, seconds since the epoch
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),  # the same moment, UTC
    sa.Column("intent", sa.String(64)),  # user events: the predicted intent
    sa.Column("action_name", sa.String(128)),  # action events
    sa.Column("text", sa.Text),  # user and bot events (buyer tokens removed)
    sa.Column("data", sa.Text, nullable=False),  # the whole event as JSON (buyer tokens removed)
    sa.Column("event_hash", sa.String(64), nullable=False),  # SHA-256 of the event as stored
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("sender_id", "timestamp", "type", "event_hash", name="uq_conversation_event"),
)

# The owner's analytics (bot/review/analytics.py) read a date range of these tables: indexes that
# lead with the time (after the role, for messages) and carry the columns the aggregates read, so a
# range is read from the index alone.
sa.Index(
    "ix_gateway_messages_role_created_at", gateway_messages.c.role, gateway_messages.c.created_at, gateway_messages.c.session_id
)
sa.Index(
    "ix_review_suggestions_created_at",
    review_suggestions.c.created_at,
    review_suggestions.c.status,
    review_suggestions.c.intent,
    review_suggestions.c.confidence,
    review_suggestions.c.handled_at,
    review_suggestions.c.reason,
)

# Which database holds which tables. Each part is a branch of the migrations (bot/migrations) with
# its own version row, so the two may share one database or live in separate ones.
SHOP = "shop"
GATEWAY = "gateway"
PARTS: Dict[str, Tuple[sa.Table, ...]] = {
    SHOP: (
        products,
        skus,
        price_history,
        buyers,
        orders,
        order_items,
        tracking_events,
        return_requests,
        price_refunds,
        phone_tail_failures,
    ),
    GATEWAY: (
        gateway_sessions,
        gateway_messages,
        gateway_pending_events,
        agent_accounts,
        agent_logins,
        review_suggestions,
        review_conversations,
        review_handoffs,
        training_candidates,
        training_jobs,
        trained_models,
        training_documents,
        conversation_events,
        quick_phrases,
        analytics_days,
    ),
}
# What `python -m bot seed` replaces with the demo shop (the phone-tail counts are kept).
SHOP_CONTENT: Tuple[sa.Table, ...] = (
    products,
    skus,
    price_history,
    buyers,
    orders,
    order_items,
    tracking_events,
    return_requests,
    price_refunds,
)


def table_names(*parts: str) -> frozenset:
    """The tables of ``parts`` (every part when none is named)."""
    return frozenset(table.name for part in (parts or PARTS) for table in PARTS[part])
