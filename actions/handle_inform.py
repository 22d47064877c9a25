"""inform outside a form: finish the question that was waiting for a product or an order (picked by
tap, by number or in words), ask the last question again about a product named as a follow-up
("and the lamp?"), recommend a size from a bare height and weight, or ask what's wanted."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction, ShopContext, latest_entity
from actions.check_stock import ActionCheckStock
from actions.resume_question import PRODUCT_QUESTIONS, RESUMABLE

# Actions whose answer a bare colour or size follows up on
STOCK_ANSWERS = ("action_check_stock",)
# Questions a bare product ("and the lamp?") asks again about that product: the ones whose answer only
# reads (an after-sale request registers something, and is never repeated on a guess).
ORDER_LOOKUPS = ("ask_order_status", "logistics_delay", "ask_arrival_time", "ask_ship_time")
FOLLOW_UPS = (*PRODUCT_QUESTIONS, *ORDER_LOOKUPS)
# Questions about an order that wait for the buyer to pick one of the orders offered
ORDER_QUESTIONS = tuple(q for q in RESUMABLE if q not in PRODUCT_QUESTIONS)


class ActionHandleInform(ShopAction):
    def name(self) -> Text:
        return "action_handle_inform"

    def act(self, dispatcher: CollectingDispatcher, shop: ShopContext) -> List[EventType]:
        pending = shop.tracker.get_slot("pending_question")
        product = shop.product_in_focus()
        if pending in PRODUCT_QUESTIONS and product is not None:
            return RESUMABLE[pending]().act(dispatcher, shop)
        order_id = latest_entity(shop.tracker, "order_id")
        previous = shop.previous_question()
        if pending in RESUMABLE and pending not in PRODUCT_QUESTIONS and order_id:
            # The buyer tapped one of the orders offered (or typed its number): answer the question.
            return self._answered(RESUMABLE[pending]().act(dispatcher, shop))
        question = pending if pending in ORDER_QUESTIONS else previous if previous in ORDER_LOOKUPS else None
        picked = shop.orders_picked_in_words() if question and not order_id else []
        if question and not order_id and not picked and not shop.tracker.get_slot("offered_orders"):
            # "the other one" right after an answer about one order, with nothing on offer.
            other = shop.other_order(question)
            if other.ambiguous:
                return shop.offer_orders(dispatcher, other.candidates, question)
            if other.order is not None:
                # Chosen by the bot among the buyer's orders: say which one, with its items.
                dispatcher.utter_message(
                    response="utter_order_in_question", order_id=other.order.id, items=shop.item_names(other.order)
                )
                picked = [other.order]
        if picked and question:
            # "the jeans one", "the second", "both", "the other one": the orders offered, picked in
            # words; each answered, and named in its answer.
            events: List[EventType] = []
            for order in picked:
                shop.picked_order_id = order.id
                events += RESUMABLE[question]().act(dispatcher, shop)
            return self._answered([*events, SlotSet("order_id", picked[-1].id)])
        if product is not None and (shop.color() or shop.size()) and self._follows_stock_answer(shop):
            # A bare colour or size ("black XL?") right after a stock answer: the same product in that colour / size.
            return ActionCheckStock().act(dispatcher, shop)
        text = shop.tracker.latest_message.get("text") or ""
        if len(shop.lexicon.body_measurements(text)) == 2:
            # A bare height and weight is the size question: the size form reads both and answers.
            return [FollowupAction("size_form")]
        if order_id:
            dispatcher.utter_message(response="utter_inform_order", order_id=order_id)
            return []
        named = latest_entity(shop.tracker, "product")
        if product is not None and named and previous in FOLLOW_UPS:
            # "and the lamp?" right after an answer: the same question, about the product just named.
            return RESUMABLE[previous]().act(dispatcher, shop)
        if product is not None and named:
            shop.remember_product(product)
            dispatcher.utter_message(response="utter_inform_product", product=product.name)
            return []
        if pending in PRODUCT_QUESTIONS:
            # Still no product: ask again rather than guess.
            return RESUMABLE[pending]().act(dispatcher, shop)
        dispatcher.utter_message(response="utter_default")
        return []

    @staticmethod
    def _answered(events: List[EventType]) -> List[EventType]:
        """The waiting question is answered (unless answering it asked for something again)."""
        if not any(e.get("name") == "pending_question" for e in events):
            events.append(SlotSet("pending_question", None))
        return events

    @staticmethod
    def _follows_stock_answer(shop: ShopContext) -> bool:
        """The bot's last answer before this message was a stock answer."""
        for event in shop.last_answer_events():
            if event.get("event") == "action" and event.get("name") not in ("action_listen", "action_extract_slots", None):
                return event.get("name") in STOCK_ANSWERS
        return False
