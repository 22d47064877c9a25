"""Shared logic of the shop's actions: services, buyer identity, product and order look-ups."""

from __future__ import annotations

import abc
import inspect
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Text, Tuple
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.action_server import services
from bot.reply_details import REPLY_KEY, ReplyDetails
from bot.shop.identity import verify_buyer_token
from bot.shop.orders import RepositoryUnavailable
from bot.shop.orders.models import Order, Product
from bot.shop.orders.resolution import OrderClues, Resolution, pick_offered, read_clues, resolve

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
        # An order the buyer picked in words among the ones offered (orders_picked_in_words): used
        # as if its number were in the message.
        self.picked_order_id: Optional[str] = None

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

    def latest_text(self) -> str:
        return self.tracker.latest_message.get("text") or ""

    def latest_intent(self) -> Optional[str]:
        return (self.tracker.latest_message.get("intent") or {}).get("name")

    def resolve_order(self, intent: Optional[str] = None, prefer: Optional[Callable[[Order], bool]] = None) -> Resolution:
        """Which order the buyer means (bot/shop/orders/resolution.py): the one named by number in this
        message, else the one named earlier unless this message names a product it does not hold,
        else the logged-in buyer's orders narrowed by the message's clues and ranked by the
        intent's natural states. Only orders the buyer may see are ever considered."""
        intent = intent or self.latest_intent()
        named_now = self.picked_order_id or latest_entity(self.tracker, "order_id")
        clues = self.order_clues()
        for named in (named_now, self.tracker.get_slot("order_id")):
            if not named:
                continue
            order = self.repository.get_order(named)
            if order is None or not self.may_see(order):
                if named is named_now:
                    return Resolution(reason="none")
                continue
            if named is named_now or not clues.products or any(i.product_id in clues.products for i in order.items):
                self.note("order_id", f"orders.{order.id} ({order.status})")
                return Resolution(order=order, reason="named", buyer_order_count=1)
        buyer_id = self.buyer_id()
        orders = self.repository.orders_for_buyer(buyer_id) if buyer_id else []
        result = resolve(orders, clues, intent, self.now(), prefer=prefer)
        if result.order is not None:
            self.note("order_id", f"orders.{result.order.id} ({result.order.status}): {result.reason} for {intent}")
        return result

    def order_clues(self) -> OrderClues:
        color, size = self.color(), self.size()
        return read_clues(
            self.latest_text(),
            self.repository.list_products(),
            self.lexicon.order_time_words,
            self.lexicon.order_state_words,
            colors=[color] if color else [],
            sizes=[size] if size else [],
            viewed_product=str(message_metadata(self.tracker).get("product_id") or "") or None,
        )

    def order_in_question(
        self, prefer: Optional[Callable[[Order], bool]] = None, intent: Optional[str] = None
    ) -> Optional[Order]:
        """The one order the buyer clearly means, or None (see ``resolve_order``)."""
        return self.resolve_order(intent, prefer).order

    def grounded_order(
        self,
        dispatcher: Any,
        question: str,
        prefer: Optional[Callable[[Order], bool]] = None,
    ) -> Tuple[Optional[Order], List[EventType]]:
        """The order for ``question``, named to the buyer when it was picked among several; or, with
        no order yet, the events that ask: order cards to pick from, an honest "no such order", or
        the order check form for a buyer who is not logged in."""
        result = self.resolve_order(question, prefer)
        if result.order is not None:
            if not self.picked_order_id and self.tracker.get_slot("offered_orders") and not self.events_set("offered_orders"):
                self.events.append(SlotSet("offered_orders", None))  # a new question answered: the last offer is over
            if result.inferred:
                dispatcher.utter_message(
                    response="utter_order_in_question", order_id=result.order.id, items=self.item_names(result.order)
                )
            return result.order, []
        if result.ambiguous:
            return None, self.offer_orders(dispatcher, result.candidates, question)
        if result.reason == "no_order_for_product":
            names = [p.name for p in (self.repository.get_product(i) for i in result.missing_products) if p]
            dispatcher.utter_message(response="utter_no_order_for_product", product=self.lexicon.join(names))
            return None, [SlotSet("pending_question", question)]
        if self.buyer_id() and result.buyer_order_count:
            dispatcher.utter_message(response="utter_no_matching_order")
            return None, [SlotSet("pending_question", question)]
        return None, self.ask_for_order(question)

    def offer_orders(self, dispatcher: Any, orders: List[Order], question: str, limit: int = 4) -> List[EventType]:
        """Several orders fit: one card per order and a one-tap button that names it."""
        shown = orders[:limit]
        buttons = [
            {
                "title": self.lexicon.order_pick_format.format(items=self.item_names(o), order_id=o.id),
                "payload": '/inform{"order_id":"%s"}' % o.id,
            }
            for o in shown
        ]
        dispatcher.utter_message(response="utter_which_order", count=len(shown), buttons=buttons)
        for order in shown:
            dispatcher.utter_message(json_message=self.order_card(order))
        return [
            SlotSet("pending_question", question),
            SlotSet("order_id", None),
            SlotSet("offered_orders", [o.id for o in shown]),
        ]

    def previous_question(self) -> Optional[str]:
        """The intent of the buyer's message before this one in this session, looking past the
        bare follow-ups (inform) that carried it on; None at the session's start."""
        latest_seen = False
        for event in reversed(self.tracker.events or []):
            if event.get("event") == "session_started":
                return None
            if event.get("event") != "user":
                continue
            if not latest_seen:
                latest_seen = True  # this message
                continue
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent != "inform":
                return intent
        return None

    def orders_picked_in_words(self) -> List[Order]:
        """The orders this message picks among the ones offered last ("the jeans one", "the
        second", "both", "the other one"), or none. Only orders the buyer may see."""
        offered = [
            order
            for order in (self.repository.get_order(str(i)) for i in self.tracker.get_slot("offered_orders") or [])
            if order is not None and self.may_see(order)
        ]
        if not offered:
            return []
        named = list(self.order_clues().products)
        entity = latest_entity(self.tracker, "product")
        product = self.repository.find_product(entity) if entity else None
        if product is not None:
            named.append(product.id)
        words = self.lexicon
        return pick_offered(
            offered,
            self.latest_text(),
            named,
            words.order_pick_positions,
            words.order_pick_every,
            words.order_pick_other,
            answered=self.tracker.get_slot("order_id"),
        )

    def last_answer_events(self) -> List[Dict[str, Any]]:
        """The events of the bot's answer to the buyer's previous message (between that message
        and this one), newest first."""
        answer: List[Dict[str, Any]] = []
        latest_seen = False
        for event in reversed(self.tracker.events or []):
            if event.get("event") == "user":
                if latest_seen:
                    break
                latest_seen = True
            elif latest_seen:
                answer.append(event)
        return answer

    def order_answered_last(self) -> Optional[str]:
        """The order number the bot's replies to the buyer's previous message were filled with
        (read from their reply details), or None."""
        for event in self.last_answer_events():
            if event.get("event") == "bot":
                details = ReplyDetails.from_metadata(event.get("metadata"))
                if details is not None and details.values.get("order_id"):
                    return str(details.values["order_id"])
        return None

    def other_order(self, question: str) -> Resolution:
        """For "the other one" with no orders on offer, right after an answer about one order: the
        logged-in buyer's orders but that one, ranked for ``question`` as if it were asked afresh."""
        answered = self.order_answered_last() or self.tracker.get_slot("order_id")
        buyer_id = self.buyer_id()
        if not answered or not buyer_id or not any(w in self.latest_text() for w in self.lexicon.order_pick_other):
            return Resolution()
        orders = [o for o in self.repository.orders_for_buyer(buyer_id) if o.id != str(answered)]
        return resolve(orders, OrderClues(), question, self.now())

    def asks_about_an_order(self, logged_in_default: bool = True) -> bool:
        """The message is about an order already placed, not a question before buying: it names
        an order number or a product the buyer bought, or uses order words (lexicon order_reference_words); with
        none of these, a logged-in buyer who is not on a product page and names no place means an order."""
        text = self.latest_text()
        if latest_entity(self.tracker, "order_id") or any(w in text for w in self.lexicon.order_reference_words):
            return True
        if self.lexicon.places_named(text) or self.lexicon.means_own_place(text) or latest_entity(self.tracker, "courier"):
            return False
        buyer_id = self.buyer_id()
        if not buyer_id:
            return False
        named = self.order_clues().products
        if named:
            return any(i.product_id in named for o in self.repository.orders_for_buyer(buyer_id) for i in o.items)
        return logged_in_default and not message_metadata(self.tracker).get("product_id")

    def asked_courier(self) -> Optional[str]:
        """The courier the buyer named, spelled as in the shop policy when the policy has it."""
        asked = latest_entity(self.tracker, "courier")
        return next((c for c in self.policy.couriers if asked and c.lower() == asked.lower()), asked)

    def place_in_question(self) -> Tuple[Optional[str], Optional[str]]:
        """(province, as the buyer wrote it) named in the message, else the logged-in buyer's
        province (their address), else (None, None)."""
        # A clause split from a longer message ("Lhasa? how many days?") keeps the place of the whole.
        whole = message_metadata(self.tracker).get("original_text") or ""
        named = self.lexicon.places_named(self.latest_text()) or self.lexicon.places_named(whole)
        if named:
            return named[0]
        buyer_id = self.buyer_id()
        buyer = self.repository.get_buyer(buyer_id) if buyer_id else None
        if buyer is not None and buyer.province:
            return buyer.province, buyer.province
        return None, None

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

    def size_of(self, product: Product) -> Optional[str]:
        """The size in this message as the product's catalogue writes it (200x230 -> 200x230cm)."""
        size = self.size()
        if not size or size in product.sizes:
            return size
        key = self.lexicon.size_key(size)
        return next((s for s in product.sizes if self.lexicon.size_key(s) == key), size)

    def product_card(self, product: Product, in_stock: Optional[bool] = None) -> Dict[str, Any]:
        """The widget's product card (a custom payload: values only, labels from the lexicon);
        ``in_stock`` is that of the variant asked about, else of the product."""
        labels = self.lexicon.card_labels
        in_stock = product.in_stock if in_stock is None else in_stock
        return {
            "card": {
                "type": "product",
                "product_id": product.id,
                "name": product.name,
                "price": f"{product.lowest_price:g}",
                "image": product.image,
                "in_stock": in_stock,
                "stock_label": labels.get("in_stock" if in_stock else "out_of_stock", ""),
            }
        }

    def order_card(self, order: Order) -> Dict[str, Any]:
        last = order.tracking[-1] if order.tracking else None
        return {
            "card": {
                "type": "order",
                "order_id": order.id,
                "items": self.item_names(order),
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


# What rasa_sdk's utter_message takes besides the template values.
UTTER_PARAMETERS = frozenset(inspect.signature(CollectingDispatcher.utter_message).parameters) - {"self", "kwargs"}


class ReplyDispatcher:
    """Gives every templated reply its details (bot/reply_details.py): the template, the values
    the action fills it with and the sources noted so far on ``shop``, under ``REPLY_KEY``, which
    Rasa keeps in the bot event's metadata for the shop channel and the agent console. The values
    also still go to Rasa as keyword arguments: they fill the template."""

    def __init__(self, dispatcher: Any, shop: Optional[ShopContext] = None) -> None:
        self._dispatcher = dispatcher.wrapped if isinstance(dispatcher, ReplyDispatcher) else dispatcher
        self._shop = shop

    @property
    def wrapped(self) -> CollectingDispatcher:
        return self._dispatcher

    def utter_message(self, **kwargs: Any) -> None:
        if kwargs.get("response"):
            values = {k: v for k, v in kwargs.items() if k not in UTTER_PARAMETERS and k != REPLY_KEY}
            sources = self._shop.sources if self._shop is not None else {}
            kwargs[REPLY_KEY] = ReplyDetails(kwargs["response"], values, sources).to_metadata()
        self._dispatcher.utter_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dispatcher, name)


class ReplyDetailsFormValidation(FormValidationAction, abc.ABC):
    """A form validation whose templated replies carry their details (see ``ReplyDispatcher``)."""

    @abc.abstractmethod
    def name(self) -> Text:
        """validate_<form name>"""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return await super().run(ReplyDispatcher(dispatcher), tracker, domain)


class ShopAction(Action, abc.ABC):
    """Base of every shop action: runs ``act`` and answers politely if the shop data is down."""

    @abc.abstractmethod
    def name(self) -> Text:
        """The action's name as listed in domain.yml."""

    @abc.abstractmethod
    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        """Utter responses and return the action's own events."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        shop = ShopContext(tracker)
        try:
            events = self.act(ReplyDispatcher(dispatcher, shop), shop)
        except RepositoryUnavailable:
            logger.exception("shop data unavailable in %s", self.name())
            ReplyDispatcher(dispatcher).utter_message(response="utter_service_unavailable")
            return []
        return shop.events + events
