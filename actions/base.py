"""Shared logic of the shop's actions: services, buyer identity, product and order look-ups."""

from __future__ import annotations

import abc
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Text
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import services
from bot.identity import verify_buyer_token
from bot.orders import RepositoryUnavailable
from bot.orders.models import Order, Product

logger = logging.getLogger(__name__)


def latest_entity(tracker: Tracker, entity: str) -> Optional[str]:
    """The value of an entity in the latest user message (after synonym mapping)."""
    values = [e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]
    values = [v for v in values if v]
    return str(values[0]) if values else None


def message_metadata(tracker: Tracker) -> Dict[str, Any]:
    return tracker.latest_message.get("metadata") or {}


class ShopContext:
    """Per-run helper around the installed services and the tracker."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.services = services.current()
        self.repository = self.services.repository
        self.policy = self.services.policy
        self.lexicon = self.services.lexicon
        self.size_chart = self.services.size_chart
        self.events: List[EventType] = []
        self.sources: Dict[str, str] = {}

    def note(self, value_name: str, source: str) -> None:
        """Where a value in the reply comes from (shown to the agent reviewing the reply)."""
        self.sources[value_name] = source

    # -- time ------------------------------------------------------------------------------
    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.policy.timezone))

    def format_datetime(self, moment: datetime) -> str:
        return self.lexicon.format_datetime(self.local(moment))

    def format_date(self, moment: datetime) -> str:
        return self.lexicon.format_date(self.local(moment))

    # -- identity --------------------------------------------------------------------------
    def buyer_id(self) -> Optional[str]:
        """The logged-in buyer: the newest valid signed token the buyer's messages carried in this
        session (external events carry none), else the one remembered in the slot."""
        for metadata in self._message_metadata_newest_first():
            token = metadata.get("buyer_token")
            if not token:
                continue
            buyer_id = verify_buyer_token(self.services.buyer_token_secret, token)
            if buyer_id:
                if buyer_id != self.tracker.get_slot("buyer_id") and not self.events_set("buyer_id"):
                    self.events.append(SlotSet("buyer_id", buyer_id))
                return buyer_id
        return self.tracker.get_slot("buyer_id")

    def _message_metadata_newest_first(self):
        # An order event from the shop carries the owner's token as an entity.
        yield {"buyer_token": latest_entity(self.tracker, "buyer_token")}
        yield message_metadata(self.tracker)
        for event in reversed(self.tracker.events or []):
            if event.get("event") == "session_started":
                break
            if event.get("event") == "user":
                yield event.get("metadata") or {}

    def events_set(self, slot: str) -> bool:
        return any(e.get("event") == "slot" and e.get("name") == slot for e in self.events)

    def verified_orders(self) -> List[str]:
        return list(self.tracker.get_slot("verified_orders") or [])

    def may_see(self, order: Order) -> bool:
        """Only the owner, or someone who proved the phone's last four digits, sees an order."""
        return order.buyer_id == self.buyer_id() or order.id in self.verified_orders()

    def order_in_question(self, prefer: Optional[Callable[[Order], bool]] = None) -> Optional[Order]:
        """The order the buyer means, if they may see it: the one named (in this message or
        earlier), else the logged-in buyer's newest order matching ``prefer``, else their newest."""
        named = latest_entity(self.tracker, "order_id") or self.tracker.get_slot("order_id")
        if named:
            order = self.repository.get_order(named)
            found = order if order is not None and self.may_see(order) else None
        else:
            buyer_id = self.buyer_id()
            orders = self.repository.orders_for_buyer(buyer_id) if buyer_id else []
            preferred = [o for o in orders if prefer(o)] if prefer else orders
            found = (preferred or orders or [None])[0]
        if found is not None:
            self.note("order_id", f"orders.{found.id} ({found.status})")
        return found

    @staticmethod
    def ask_for_order(question: str) -> List[EventType]:
        """Run the order check form (order number, then proof), then come back to ``question``."""
        return [SlotSet("pending_question", question), FollowupAction("order_check_form")]

    # -- catalogue -------------------------------------------------------------------------
    def product_in_focus(self) -> Optional[Product]:
        """Named in this message, else the product page being viewed, else the one discussed."""
        name = latest_entity(self.tracker, "product")
        if name:
            product = self.repository.find_product(name)
            if product:
                return product
        product_id = message_metadata(self.tracker).get("product_id")
        if product_id:
            product = self.repository.get_product(str(product_id))
            if product:
                return product
        remembered = self.tracker.get_slot("product")
        if remembered:
            return self.repository.find_product(remembered)
        return None

    def remember_product(self, product: Product) -> None:
        self.note("product", f"products.{product.id}")
        if self.tracker.get_slot("product") != product.name:
            self.events.append(SlotSet("product", product.name))

    def color(self) -> Optional[str]:
        return self.lexicon.normalise_color(latest_entity(self.tracker, "color"))

    def size(self) -> Optional[str]:
        return self.lexicon.normalise_size(latest_entity(self.tracker, "size"))

    def product_card(self, product: Product) -> Dict[str, Any]:
        """The widget's product card (a custom payload: values only, labels from the lexicon)."""
        labels = self.lexicon.card_labels
        return {
            "card": {
                "type": "product",
                "product_id": product.id,
                "name": product.name,
                "price": f"{product.lowest_price:g}",
                "image": product.image,
                "in_stock": product.in_stock,
                "stock_label": labels.get("in_stock" if product.in_stock else "out_of_stock", ""),
            }
        }

    def order_card(self, order: Order) -> Dict[str, Any]:
        last = order.tracking[-1] if order.tracking else None
        return {
            "card": {
                "type": "order",
                "order_id": order.id,
                "status_label": self.lexicon.card_labels.get("order_states", {}).get(order.status, order.status),
                "courier": order.courier or "",
                "last_event": last.description if last else "",
                "last_event_time": self.format_datetime(last.at) if last else "",
            }
        }

    def item_names(self, order: Order) -> str:
        names = []
        for item in order.items:
            product = self.repository.get_product(item.product_id)
            names.append(product.name if product else item.product_id)
        return self.lexicon.join(dict.fromkeys(names))


class SourcedDispatcher:
    """Adds the values' sources noted so far to every templated reply (``sources``, which Rasa
    keeps in the bot event's metadata for the agent console)."""

    def __init__(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> None:
        self._dispatcher = dispatcher
        self._shop = shop

    def utter_message(self, **kwargs: Any) -> None:
        if kwargs.get("response") and self._shop.sources:
            kwargs["sources"] = dict(self._shop.sources)
        self._dispatcher.utter_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dispatcher, name)


class ShopAction(Action, abc.ABC):
    """Base of every shop action: runs ``act`` and answers politely if the shop data is down."""

    @abc.abstractmethod
    def name(self) -> Text:
        """The action's name as listed in domain.yml."""

    @abc.abstractmethod
    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        """Utter responses and return the action's own events."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        shop = ShopContext(tracker)
        try:
            events = self.act(SourcedDispatcher(dispatcher, shop), shop)
        except RepositoryUnavailable:
            logger.exception("shop data unavailable in %s", self.name())
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        return shop.events + events
