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

# -- training: jobs and the model history of the trainer console (gateway database) -------------
training_jobs = sa.Table(
    "training_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(16), nullable=False),  # training | evaluating | swapped | kept | failed
    sa.Column("progress", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("model", sa.String(128)),
    sa.Column("accuracy", sa.Float),
    sa.Column("previous_accuracy", sa.Float),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)
trained_models = sa.Table(
    "trained_models",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accuracy", sa.Float),
    sa.Column("macro_f1", sa.Float),
    sa.Column("report_dir", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, default=False),
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
        training_candidates,
        training_jobs,
        trained_models,
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
