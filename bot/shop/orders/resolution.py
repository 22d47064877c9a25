"""Which of a buyer's orders a message is about: one place for every action.

Candidates are the buyer's orders. Clues in the message narrow them: the products named (or the
product page being viewed), colours and sizes, time words ("bought yesterday", "last week") and
state words ("not shipped yet", "the one I received"), all from the lexicon; each clue narrows only when some order fits it, except a product named in the message,
which must match (a buyer asking about jeans they never bought gets an honest "no such order").
The intent's natural states then rank what is left: logistics questions prefer orders on the way,
price protection paid ones, returns and quality reports delivered ones. One clear match is used;
several equally good ones are offered to the buyer to pick; none is said honestly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, cast

from bot.shop.orders.models import Order, Product

IN_TRANSIT = ("shipped", "out_for_delivery", "exception")
PAID = ("paid", "shipped", "out_for_delivery", "delivered", "exception")

# intent -> tiers of order states, best first. Orders in no tier are used only when the message's
# clues leave nothing else (then the action says honestly what state the order is in).
NATURAL_STATES: Dict[str, Tuple[Tuple[str, ...], ...]] = {
    "ask_order_status": (IN_TRANSIT, ("paid",), ("unpaid",), ("delivered",), ("returned",)),
    "logistics_delay": (IN_TRANSIT, ("paid",)),
    "ask_arrival_time": (IN_TRANSIT,),
    "ask_ship_time": (("paid",), ("shipped", "out_for_delivery")),
    "price_difference": (PAID,),
    "request_return": (("delivered",), ("out_for_delivery", "shipped", "exception")),
    "report_quality_issue": (("delivered",), ("out_for_delivery", "shipped", "exception")),
    "wrong_item": (("delivered",),),
    "picture_mismatch": (("delivered",),),
    "ask_free_shipping": (("unpaid",),),
}
DEFAULT_STATES: Tuple[Tuple[str, ...], ...] = (IN_TRANSIT, ("paid",), ("delivered",), ("unpaid",), ("returned",))


@dataclass(frozen=True)
class OrderClues:
    """What the message says about the order (all optional)."""

    products: Tuple[str, ...] = ()  # product ids named in the message
    viewed_product: Optional[str] = None  # product id of the page being viewed
    colors: Tuple[str, ...] = ()
    sizes: Tuple[str, ...] = ()
    age_days: Optional[Tuple[float, float]] = None  # created between these many days ago
    states: Tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.products or self.colors or self.sizes or self.age_days or self.states)


@dataclass
class Resolution:
    """The outcome: ``order`` when one clear match; ``candidates`` to pick from when several."""

    order: Optional[Order] = None
    candidates: List[Order] = field(default_factory=list)
    reason: str = "none"  # named | only | narrowed | ranked | ambiguous | no_order_for_product | none
    missing_products: Tuple[str, ...] = ()  # products named that no order of the buyer holds
    buyer_order_count: int = 0

    @property
    def ambiguous(self) -> bool:
        return self.order is None and len(self.candidates) > 1

    @property
    def inferred(self) -> bool:
        """Chosen among several orders without the buyer naming its number."""
        return self.order is not None and self.reason != "named" and self.buyer_order_count > 1


def _longest_first(words: Iterable[str]) -> List[str]:
    return sorted({w for w in words if w}, key=len, reverse=True)


def _scan(text: str, table: Dict[str, str]) -> List[str]:
    """Values of the table's words found in the text, longest words first, each span used once."""
    found: List[str] = []
    taken = [False] * len(text)
    lowered = text.lower()
    for word in _longest_first(table):
        start = lowered.find(word.lower())
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                if table[word] not in found:
                    found.append(table[word])
            start = lowered.find(word.lower(), end)
    return found


def products_named(text: str, products: Sequence[Product]) -> List[str]:
    """Ids of the products whose name or alias the text contains (longest words win)."""
    table: Dict[str, str] = {}
    for product in products:
        for word in [product.name, *product.aliases]:
            table.setdefault(word, product.id)
    return _scan(text, table)


def read_clues(
    text: str,
    products: Sequence[Product],
    time_words: Mapping[str, Sequence[float]],
    state_words: Mapping[str, Sequence[str]],
    colors: Sequence[str] = (),
    sizes: Sequence[str] = (),
    viewed_product: Optional[str] = None,
) -> OrderClues:
    text = text or ""
    # Each time word's value is its [low, high] range of days (data/shop/lexicon.yml).
    ages = [cast(Tuple[float, float], tuple(float(x) for x in time_words[w])) for w in _longest_first(time_words) if w in text]
    state_table = {word: state for state, words in state_words.items() for word in words}
    states = _scan(text, state_table)
    expanded: List[str] = []
    for state in states:
        expanded.extend(s.strip() for s in state.split(","))
    return OrderClues(
        products=tuple(products_named(text, products)),
        viewed_product=viewed_product,
        colors=tuple(c for c in colors if c),
        sizes=tuple(s for s in sizes if s),
        age_days=ages[0] if ages else None,  # the longest time word
        states=tuple(dict.fromkeys(expanded)),
    )


def _has_product(order: Order, product_ids: Iterable[str]) -> bool:
    wanted = set(product_ids)
    return any(item.product_id in wanted for item in order.items)


def _narrow(orders: List[Order], keep: Callable[[Order], bool]) -> List[Order]:
    """A soft clue: narrows only when some order fits it."""
    kept = [o for o in orders if keep(o)]
    return kept or orders


def resolve(
    orders: Sequence[Order],
    clues: OrderClues,
    intent: Optional[str],
    now: datetime,
    prefer: Optional[Callable[[Order], bool]] = None,
) -> Resolution:
    """``orders`` are the buyer's orders; ``prefer`` breaks ties among the best-ranked ones (e.g.
    price protection: a price drop inside the window)."""
    orders = list(orders)
    result = Resolution(buyer_order_count=len(orders))
    if not orders:
        return result
    candidates = orders
    narrowed = False
    if clues.products:
        holding = [o for o in orders if _has_product(o, clues.products)]
        missing = tuple(p for p in clues.products if not any(_has_product(o, [p]) for o in orders))
        if not holding:
            result.reason = "no_order_for_product"
            result.missing_products = missing
            return result
        candidates, narrowed = holding, True
    elif clues.viewed_product and any(_has_product(o, [clues.viewed_product]) for o in orders):
        candidates, narrowed = [o for o in orders if _has_product(o, [clues.viewed_product])], True
    if clues.colors:
        before = candidates
        candidates = _narrow(candidates, lambda o: any(i.color in clues.colors for i in o.items))
        narrowed = narrowed or candidates != before
    if clues.sizes:
        before = candidates
        candidates = _narrow(candidates, lambda o: any(i.size in clues.sizes for i in o.items))
        narrowed = narrowed or candidates != before
    if clues.age_days:
        low, high = clues.age_days
        before = candidates
        candidates = _narrow(candidates, lambda o: low <= (now - o.created_at).total_seconds() / 86400 <= high)
        narrowed = narrowed or candidates != before
    if clues.states:
        before = candidates
        candidates = _narrow(candidates, lambda o: o.status in clues.states)
        narrowed = narrowed or candidates != before

    tiers = NATURAL_STATES.get(intent or "", DEFAULT_STATES)
    ranked: List[Order] = []
    for tier in tiers:
        ranked = [o for o in candidates if o.status in tier]
        if ranked:
            break
    if not ranked:
        # Nothing in the intent's natural states: only orders the clues picked out are used.
        if not narrowed:
            return result
        ranked = candidates
    if len(ranked) > 1 and prefer is not None:
        preferred = [o for o in ranked if prefer(o)]
        ranked = preferred or ranked
    if len(ranked) == 1:
        result.order = ranked[0]
        result.reason = "only" if len(orders) == 1 else ("narrowed" if narrowed else "ranked")
        return result
    result.candidates = sorted(ranked, key=lambda o: o.created_at, reverse=True)
    result.reason = "ambiguous"
    return result


def pick_offered(
    offered: Sequence[Order],
    text: str,
    named_products: Iterable[str],
    positions: Mapping[str, int],
    every: Iterable[str] = (),
    other: Iterable[str] = (),
    answered: Optional[str] = None,
) -> List[Order]:
    """The orders a buyer picks in words among the ones offered to pick from (in the order shown):
    all of them ("both": ``every``); the ones not answered yet ("the other one": ``other``, when
    ``answered`` is the order answered last); one by position ("the second one", "the last one":
    ``positions``, word -> index, -1 the last); else the one order holding a product named. Empty
    when the words pick none, or when a product or "the other one" fits more than one."""
    if any(word in text for word in every):
        return list(offered)
    if answered and any(word in text for word in other):
        rest = [o for o in offered if o.id != answered]
        return rest if len(rest) == 1 else []
    for word in _longest_first(positions):
        if word in text:
            index = positions[word]
            return [offered[index]] if -len(offered) <= index < len(offered) else []
    products = set(named_products)
    fitting = [o for o in offered if any(i.product_id in products for i in o.items)]
    return fitting if len(fitting) == 1 else []
