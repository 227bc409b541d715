"""The classifier: an ordered list of detectors a host composes, returning every finding
(EX-2); and, for random orders and contexts, that it never fails and every finding names its
evidence."""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    Actor,
    Address,
    CommandRefused,
    InvalidConfiguration,
    InvalidInput,
    Order,
    OrderState,
    Pay,
    PlaceOrder,
)
from orderflow.incidents import (
    DEFAULT_DETECTORS,
    DEFAULT_LOOKBACK,
    Classifier,
    Context,
    CustomerFrequencyDetector,
    ExceptionType,
    Finding,
    Lookback,
    OutOfStockDetector,
    RecentLine,
    RecentOrder,
    TrackingDetector,
    TrackingEvent,
    TrackingKind,
)
from orderflow.testing import strategies as ofs
from tests.incidents_support import placed, recent
from tests.support import ADDRESS, LIFECYCLE, SYSTEM, T0, cny

DEFAULT = Classifier.default()
DEFAULT_IDS = (
    "EX-1-customer-info",
    "EX-1-out-of-stock",
    "EX-1-price",
    "RK-2-duplicate-order",
    "RK-1-customer",
    "RK-1-address",
    "RK-3-duplicate-payment",
    "D-10-late-payment",
    "EX-1-tracking",
)


@attrs.frozen
class Flag:
    """A host's detector: flags orders of a listed customer, or returns what it is told."""

    detector_id: str = "shop-watchlist"
    result: Any = None
    error: BaseException | None = None

    def detect(self, order: Order, context: Context, at: datetime) -> Any:
        """Flag the watched customer, or raise or return what the test set."""
        if self.error is not None:
            raise self.error
        if self.result is not None:
            return self.result
        if order.customer_id != "c-1":
            return None
        return Finding(ExceptionType.SUSPECTED_FRAUD, self.detector_id, "Watched.", {"list": "w"})


# Composing ---------------------------------------------------------------------------------


def test_ex2_the_default_classifier_runs_every_library_detector_in_order() -> None:
    """EX-2: the default detectors, and the look back they need (RK-1, RK-2)."""
    assert DEFAULT.detector_ids == DEFAULT_IDS
    assert Classifier() == DEFAULT
    assert DEFAULT.detectors == DEFAULT_DETECTORS
    assert DEFAULT.lookback == DEFAULT_LOOKBACK
    assert DEFAULT.detector("RK-1-customer") == CustomerFrequencyDetector()


def test_ex2_a_host_adds_removes_and_replaces_detectors_without_changing_the_original() -> None:
    """EX-2: with_detector, without and replacing give new classifiers."""
    added = DEFAULT.with_detector(Flag(), before="EX-1-price")
    assert added.detector_ids.index("shop-watchlist") == added.detector_ids.index("EX-1-price") - 1
    assert DEFAULT.with_detector(Flag()).detector_ids[-1] == "shop-watchlist"
    removed = DEFAULT.without("RK-1-address")
    assert "RK-1-address" not in removed.detector_ids
    assert removed.lookback == Lookback(customer=timedelta(hours=1))
    daily = CustomerFrequencyDetector(threshold=20, window=timedelta(days=2))
    replaced = DEFAULT.replacing("RK-1-customer", daily)
    assert replaced.detector_ids == DEFAULT_IDS
    assert replaced.detector("RK-1-customer") is daily
    assert replaced.lookback == Lookback(timedelta(days=2), timedelta(hours=24))
    assert DEFAULT.detector_ids == DEFAULT_IDS


def test_ex2_a_classifier_without_detectors_finds_nothing_and_looks_back_nowhere() -> None:
    """EX-2: an empty classifier is allowed; it needs no recent order."""
    empty = Classifier(())
    assert empty.classify(placed(), Context(), T0) == ()
    assert empty.lookback == Lookback()


@pytest.mark.parametrize(
    "detectors",
    [
        "detectors",
        7,
        (object(),),
        (Flag(), Flag()),
        (Flag(detector_id=""),),
        (Flag(detector_id="x" * 101),),
        tuple(Flag(detector_id=f"d-{n}") for n in range(201)),
    ],
    ids=["text", "int", "object", "repeated", "blank", "long", "too many"],
)
def test_ex2_a_classifier_refuses_what_is_not_a_set_of_detectors(detectors: Any) -> None:
    """EX-2: detectors have a detector_id and a detect method; ids are unique."""
    with pytest.raises(InvalidConfiguration):
        Classifier(detectors)


@pytest.mark.parametrize(
    ("call", "setting"),
    [
        (lambda: DEFAULT.detector("nope"), "detector_id"),
        (lambda: DEFAULT.without("nope"), "detector_id"),
        (lambda: DEFAULT.replacing("nope", Flag()), "detector_id"),
        (lambda: DEFAULT.with_detector(Flag(), before="nope"), "before"),
        (lambda: DEFAULT.with_detector(OutOfStockDetector()), "classifier.detectors[9]"),
    ],
    ids=["detector", "without", "replacing", "before", "taken id"],
)
def test_ex2_naming_an_unknown_detector_is_a_configuration_error(call: Any, setting: str) -> None:
    """EX-2: an unknown id, or an id already taken, is refused."""
    with pytest.raises(InvalidConfiguration) as raised:
        call()
    assert raised.value.setting == setting


# Classifying -------------------------------------------------------------------------------


def test_ex2_every_finding_is_returned_in_detector_order() -> None:
    """EX-2: the classifier returns every exception it finds, not the first."""
    order = placed(address=attrs.evolve(ADDRESS, city=""))
    context = Context(
        stock={"SKU-A": 0},
        list_prices={"SKU-B": cny("100.00")},
        customer_orders=[recent(f"e-{n}", after=-timedelta(minutes=n + 1)) for n in range(4)],
    )
    found = DEFAULT.with_detector(Flag()).classify(order, context, T0)
    assert [(f.detector, f.type) for f in found] == [
        ("EX-1-customer-info", ExceptionType.CUSTOMER_INFO),
        ("EX-1-out-of-stock", ExceptionType.OUT_OF_STOCK),
        ("EX-1-price", ExceptionType.PRICE_ERROR),
        ("RK-2-duplicate-order", ExceptionType.DUPLICATE_ORDER),
        ("RK-1-customer", ExceptionType.SUSPECTED_FRAUD),
        ("shop-watchlist", ExceptionType.SUSPECTED_FRAUD),
    ]
    # The library's fraud finding freezes (RK-4); a host's finding says for itself.
    assert [f.freezes for f in found] == [False, False, False, False, True, False]


def test_ex2_an_order_with_nothing_wrong_has_no_finding() -> None:
    """EX-2: a complete order, in stock, at list price, alone: no finding."""
    context = Context(stock={"SKU-A": 2, "SKU-B": 1}, list_prices={"SKU-A": cny("50.00")})
    assert DEFAULT.classify(placed(), context, T0) == ()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("o-1", Context(), T0), "order"),
        ((placed(), {"stock": {}}, T0), "context"),
        ((placed(), Context(), T0.replace(tzinfo=None)), "at"),
    ],
    ids=["order", "context", "naive time"],
)
def test_ex2_classify_refuses_what_is_not_an_order_a_context_and_a_time(
    arguments: tuple[Any, Any, Any], field: str
) -> None:
    """EX-2: the classifier's own inputs are validated before any detector runs."""
    with pytest.raises(InvalidInput) as raised:
        DEFAULT.with_detector(Flag(error=AssertionError("ran"))).classify(*arguments)
    assert raised.value.field == field


def test_ex2_a_host_detector_failing_is_a_configuration_error_naming_it() -> None:
    """EX-2: anything but the library's errors or a bug is the classifier's configuration."""
    failing = DEFAULT.with_detector(Flag(error=KeyError("sku")))
    with pytest.raises(InvalidConfiguration) as raised:
        failing.classify(placed(), Context(), T0)
    assert raised.value.setting == "classifier.detectors[9]"
    assert raised.value.value == "shop-watchlist"
    assert isinstance(raised.value.__cause__, KeyError)


@pytest.mark.parametrize(
    "error", [InvalidInput("context.stock", 1, "bad"), AssertionError("a bug")], ids=repr
)
def test_ex2_the_librarys_errors_and_bugs_go_through_unchanged(error: BaseException) -> None:
    """EX-2: a detector's typed error or a failed assertion is not hidden."""
    with pytest.raises(type(error)) as raised:
        Classifier((Flag(error=error),)).classify(placed(), Context(), T0)
    assert raised.value is error


@pytest.mark.parametrize(
    "result",
    [
        "found",
        [Finding(ExceptionType.COMPLAINT, "shop-watchlist", "x", {"a": 1})],
        ("found",),
        Finding(ExceptionType.COMPLAINT, "another-detector", "x", {"a": 1}),
    ],
    ids=["text", "list", "tuple of text", "another id"],
)
def test_ex2_a_detector_returning_something_else_than_its_findings_is_refused(
    result: Any,
) -> None:
    """EX-2: a detector returns a Finding carrying its id, a tuple of them, or None."""
    with pytest.raises(InvalidConfiguration) as raised:
        Classifier((Flag(result=result),)).classify(placed(), Context(), T0)
    assert raised.value.setting == "classifier.detectors[0]"


def test_ex2_a_host_detector_may_return_a_tuple_of_findings() -> None:
    """EX-2: several findings of one detector are all returned."""
    two = tuple(
        Finding(ExceptionType.COMPLAINT, "shop-watchlist", f"n{n}", {"n": n}) for n in (1, 2)
    )
    assert Classifier((Flag(result=two),)).classify(placed(), Context(), T0) == two


# Random orders and contexts ----------------------------------------------------------------

THRESHOLD_TYPES = {
    ExceptionType.PRICE_ERROR,
    ExceptionType.DUPLICATE_ORDER,
    ExceptionType.SUSPECTED_FRAUD,
}
BLOCKING_TYPES = {
    ExceptionType.CUSTOMER_INFO,
    ExceptionType.OUT_OF_STOCK,
    ExceptionType.PRICE_ERROR,
    ExceptionType.DUPLICATE_ORDER,
    ExceptionType.SUSPECTED_FRAUD,
}
PHONES = st.one_of(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True),
    st.text(alphabet="+1234 -", max_size=16),
)
PARTS = st.sampled_from(["", " ", "Hangzhou", "1 Wensan Road"])


@st.composite
def any_orders(draw: st.DrawFn) -> Order:
    """Orders in any state, of any currency, to any address (complete or not, any phone),
    with a few random commands run on them (duplicate and late payments among them)."""
    currency = draw(st.sampled_from(["CNY", "JPY", "KWD"]))
    address = Address(
        recipient=draw(PARTS), phone=draw(PHONES), line1=draw(PARTS), city=draw(PARTS)
    )
    lines = draw(ofs.order_lines(currency))
    command = PlaceOrder("order-1", ofs.CUSTOMER_ID, lines, address)
    at = ofs.START
    order = LIFECYCLE.place(command, Actor.customer(ofs.CUSTOMER_ID), at).order
    for step, actor in ofs.path_to(order, draw(st.sampled_from(list(OrderState)))):
        at += timedelta(minutes=draw(st.integers(0, 20)))
        try:
            order = LIFECYCLE.handle(order, step, actor, at).order
        except CommandRefused:  # review refuses an incomplete address (LC-2)
            break
    if draw(st.booleans()):  # a second payment: a duplicate, or late if closed (RK-3, D-10)
        with contextlib.suppress(CommandRefused):
            order = LIFECYCLE.handle(order, Pay(order.amount_due, "pay-extra"), SYSTEM, at).order
    script = draw(ofs.command_scripts(order, max_size=4))
    for _, _, after in ofs.run_script(LIFECYCLE, order, script):
        if isinstance(after, Order):
            order = after
    return order


def _record(draw: st.DrawFn, order: Order, order_id: str) -> RecentOrder:
    """Another order: a copy of ``order``'s lines or others, of this customer or another,
    placed up to two days before it or ten minutes after."""
    customer = draw(st.sampled_from([order.customer_id, order.customer_id, "c-2", "c-3"]))
    offset = draw(
        st.one_of(
            st.integers(-2 * 86_400, 600),
            st.integers(-700, 0),
            st.sampled_from([-600, -3600, -86_400, 0, -599, -3599, -86_399]),
        )
    )
    same = draw(st.booleans())
    lines = tuple(RecentLine(line.sku, line.quantity, line.unit_price) for line in order.lines)
    amount = order.amount_due
    if not same:
        lines = tuple(
            RecentLine(line.sku, line.quantity + draw(st.integers(0, 1)), line.unit_price)
            for line in lines
        )
    return RecentOrder(
        order_id,
        customer,
        order.created_at + timedelta(seconds=offset),
        amount,
        lines,
        closed=draw(st.sampled_from([False, False, True])),
    )


@st.composite
def contexts(draw: st.DrawFn, order: Order) -> Context:
    """Random contexts around ``order``: stock and list prices for some of its SKUs (and
    others), recent orders of the customer and the address, the order itself among them."""
    skus = [line.sku for line in order.lines] + ["SKU-OTHER"]
    some = st.lists(st.sampled_from(skus), unique=True)
    stock = {sku: draw(st.integers(-2, 6)) for sku in draw(some)}
    prices = {sku: draw(ofs.money(order.currency, max_value=10_000)) for sku in draw(some)}
    ids = draw(st.lists(st.sampled_from([f"r-{n}" for n in range(12)]), unique=True, max_size=8))
    records = [_record(draw, order, order_id) for order_id in ids]
    if draw(st.booleans()):
        records.append(RecentOrder.of(order))
    split = draw(st.integers(0, len(records)))
    return Context(
        stock=stock,
        list_prices=prices,
        vip=draw(st.booleans()),
        customer_orders=records[:split],
        address_orders=records[split:],
    )


@st.composite
def cases(draw: st.DrawFn, *, any_state: bool = True) -> tuple[Order, Context, datetime]:
    """An order (in any state, or just placed), a context around it, and a time of
    classification."""
    if any_state:
        order = draw(any_orders())
    else:
        command = draw(ofs.place_orders())
        order = LIFECYCLE.place(command, Actor.customer(command.customer_id), ofs.START).order
    context = draw(contexts(order))
    at = order.updated_at + timedelta(minutes=draw(st.integers(0, 600)))
    return order, context, at


EVENTS = st.lists(
    st.builds(
        TrackingEvent,
        st.sampled_from(list(TrackingKind)),
        st.integers(0, 2_000).map(lambda minutes: ofs.START + timedelta(minutes=minutes)),
        st.sampled_from(["", "depot 7"]),
    ),
    max_size=6,
)


@given(cases(), EVENTS)
def test_ex2_random_orders_and_contexts_never_crash_and_findings_name_their_evidence(
    case: tuple[Order, Context, datetime], events: list[TrackingEvent]
) -> None:
    """EX-2, RK-4: any order with any context and tracking events is classified; every
    finding names its evidence ("threshold" where one applies), its playbook, whether it
    blocks and freezes; a kind of tracking trouble is found once at most."""
    order, context, at = case
    classifier = DEFAULT.replacing("EX-1-tracking", TrackingDetector(events=lambda _: events))
    found = classifier.classify(order, context, at)
    for finding in found:
        assert finding.detector in DEFAULT_IDS
        assert finding.evidence
        assert finding.playbook
        assert ("threshold" in finding.evidence) is (finding.type in THRESHOLD_TYPES)
        assert finding.blocks_review is (finding.type in BLOCKING_TYPES)
        assert finding.freezes is (finding.type is ExceptionType.SUSPECTED_FRAUD)
    order_of = {detector_id: n for n, detector_id in enumerate(DEFAULT_IDS)}
    positions = [order_of[finding.detector] for finding in found]
    assert positions == sorted(positions)
    tracked = [finding for finding in found if finding.detector == "EX-1-tracking"]
    assert len({finding.type for finding in tracked}) == len(tracked)
    for finding in tracked:
        assert TrackingKind(str(finding.evidence["event"])).is_exceptional
        assert finding.evidence["event_at"] <= at  # type: ignore[operator]


@given(cases(any_state=False), st.randoms(use_true_random=False))
def test_rk1_rk2_findings_depend_on_the_recent_orders_not_on_their_order(
    case: tuple[Order, Context, datetime], shuffler: random.Random
) -> None:
    """RK-1, RK-2: classifying twice, or with the recent orders shuffled, finds the same."""
    order, context, at = case
    customer, address = list(context.customer_orders), list(context.address_orders)
    shuffler.shuffle(customer)
    shuffler.shuffle(address)
    shuffled = attrs.evolve(context, customer_orders=customer, address_orders=address)
    assert DEFAULT.classify(order, shuffled, at) == DEFAULT.classify(order, context, at)


@given(cases(any_state=False), st.integers(2, 6), st.sampled_from([600, 3600, 86_400]))
def test_rk1_the_frequency_count_is_the_orders_in_the_window_counted_by_hand(
    case: tuple[Order, Context, datetime], threshold: int, seconds: int
) -> None:
    """RK-1: the customer's orders placed in (placement - window, placement], this one
    counted once, fire exactly when they reach the threshold."""
    order, context, at = case
    window = timedelta(seconds=seconds)
    detector = CustomerFrequencyDetector(threshold=threshold, window=window)
    placed_at = order.created_at
    by_hand = 1 + len(
        {
            other.order_id
            for other in context.customer_orders
            if other.customer_id == order.customer_id
            and other.order_id != order.id
            and placed_at - window < other.placed_at <= placed_at
        }
    )
    found = detector.detect(order, context, at)
    assert (found is not None) is (by_hand >= threshold)
    if found is not None:
        assert found.evidence["count"] == by_hand


def test_ex2_the_price_floor_is_exact_for_any_digits() -> None:
    """EX-2: a list price and ratio with many digits compare without rounding."""
    from orderflow.incidents import PriceErrorDetector

    detector = PriceErrorDetector(ratio=Decimal("0.33333333333333333333"))
    context = Context(list_prices={"SKU-A": cny("999999999.99")})
    order = placed(lines=(attrs.evolve(placed().lines[0], unit_price=cny("333333333.32")),))
    (found,) = detector.detect(order, context, T0)
    assert found.evidence["floor"] == Decimal("333333333.3299999999966666666667")
