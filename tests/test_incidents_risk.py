"""The risk checks: duplicates, order frequency per customer and accounts per address,
unapplied payments (RK-1..RK-4, D-10)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orderflow import Close, CloseReason, InvalidConfiguration, OrderLine, Pay
from orderflow.incidents import (
    AddressAccountsDetector,
    Context,
    CustomerFrequencyDetector,
    DuplicateOrderDetector,
    DuplicatePaymentDetector,
    ExceptionType,
    LatePaymentDetector,
    Lookback,
    RecentOrder,
    Resolution,
)
from tests.incidents_support import LINES, placed, recent
from tests.support import LIFECYCLE, STAFF, SYSTEM, T0, cny

MINUTE = timedelta(minutes=1)
ORDER = placed("o-9")
"""The order classified: placed at T0 by c-1, 2 x SKU-A at 50.00 and 1 x SKU-B at 19.90."""


def _customer(*orders: RecentOrder) -> Context:
    return Context(customer_orders=orders)


def _address(*orders: RecentOrder) -> Context:
    return Context(address_orders=orders)


# Duplicate submission (RK-2) --------------------------------------------------------------

DUPLICATE = DuplicateOrderDetector()


def test_rk2_the_same_lines_and_amount_within_ten_minutes_is_a_duplicate() -> None:
    """RK-2: an earlier order 9:59 before with the same lines and amount: a duplicate,
    naming it and the window; it blocks review."""
    earlier = recent("o-1", after=-(10 * MINUTE) + timedelta(seconds=1))
    found = DUPLICATE.detect(ORDER, _customer(earlier), T0)
    assert found is not None
    assert found.type is ExceptionType.DUPLICATE_ORDER
    assert found.detector == "RK-2-duplicate-order"
    assert dict(found.evidence) == {
        "earlier_order": "o-1",
        "earlier_placed_at": earlier.placed_at,
        "placed_at": T0,
        "window": "PT10M",
        "threshold": "PT10M",
    }
    assert found.blocks_review
    assert not found.freezes
    assert found.playbook == (
        Resolution.CLOSE_DUPLICATE,
        Resolution.RETURN,
        Resolution.KEEP_AND_PAY,
    )


def test_rk2_exactly_ten_minutes_earlier_is_outside_the_window() -> None:
    """RK-2: the window's end instant is outside: 10:00 before does not count."""
    assert DUPLICATE.detect(ORDER, _customer(recent("o-1", after=-10 * MINUTE)), T0) is None


def test_rk2_lines_in_another_order_are_the_same_lines() -> None:
    """RK-2: lines compare as a set of (SKU, quantity, unit price)."""
    earlier = recent("o-1", after=-MINUTE, lines=(LINES[1], LINES[0]))
    assert DUPLICATE.detect(ORDER, _customer(earlier), T0) is not None


@pytest.mark.parametrize(
    "lines",
    [
        (OrderLine("SKU-A", 1, cny("50.00")), OrderLine("SKU-B", 3, cny("19.90"))),
        (OrderLine("SKU-A", 2, cny("49.95")), OrderLine("SKU-B", 1, cny("20.00"))),
        (OrderLine("SKU-A", 2, cny("50.00")), OrderLine("SKU-C", 1, cny("19.90"))),
        (LINES[0],),
    ],
    ids=["quantities", "prices", "skus", "fewer lines"],
)
def test_rk2_other_lines_are_no_duplicate(lines: tuple[OrderLine, ...]) -> None:
    """RK-2: other quantities, prices, SKUs or lines are a near miss, even for the same
    amount (the prices and SKUs cases cost 119.90 too)."""
    earlier = recent("o-1", after=-MINUTE, lines=lines)
    assert DUPLICATE.detect(ORDER, _customer(earlier), T0) is None


def test_rk2_the_same_lines_for_another_amount_are_no_duplicate() -> None:
    """RK-2: the same lines with a line discount (another amount due) is a near miss."""
    discounted = (OrderLine("SKU-A", 2, cny("50.00"), paid=cny("90.00")), LINES[1])
    earlier = recent("o-1", after=-MINUTE, lines=discounted)
    assert earlier.lines == RecentOrder.of(ORDER).lines
    assert DUPLICATE.detect(ORDER, _customer(earlier), T0) is None


def test_rk2_another_customer_a_closed_order_or_a_later_order_is_no_duplicate() -> None:
    """RK-2: only the customer's own earlier orders that were not closed count."""
    other = recent("o-1", customer="c-2", after=-MINUTE)
    later = recent("o-2", after=MINUTE)
    closed_order = LIFECYCLE.handle(
        placed("o-3", at=T0 - MINUTE), Close(CloseReason.CUSTOMER_CANCELLED), STAFF, T0
    ).order
    closed = RecentOrder.of(closed_order)
    assert closed.closed
    itself = RecentOrder.of(ORDER)
    assert DUPLICATE.detect(ORDER, _customer(other, later, closed, itself), T0) is None


def test_rk2_of_two_orders_placed_at_the_same_instant_only_one_is_the_duplicate() -> None:
    """RK-2: at the same instant the order whose id sorts first counts as the earlier."""
    first, second = placed("o-1"), placed("o-2")
    assert DUPLICATE.detect(second, _customer(RecentOrder.of(first)), T0) is not None
    assert DUPLICATE.detect(first, _customer(RecentOrder.of(second)), T0) is None


def test_rk2_the_latest_earlier_duplicate_is_named() -> None:
    """RK-2: with several earlier duplicates, the finding names the latest."""
    context = _customer(
        recent("o-1", after=-5 * MINUTE),
        recent("o-3", after=-MINUTE),
        recent("o-2", after=-3 * MINUTE),
    )
    found = DUPLICATE.detect(ORDER, context, T0)
    assert found is not None
    assert found.evidence["earlier_order"] == "o-3"


def test_rk2_the_window_is_configuration() -> None:
    """RK-2: a 30-minute window counts 29 minutes earlier; its look back follows."""
    wide = DuplicateOrderDetector(window=timedelta(minutes=30))
    context = _customer(recent("o-1", after=-29 * MINUTE))
    assert DUPLICATE.detect(ORDER, context, T0) is None
    found = wide.detect(ORDER, context, T0)
    assert found is not None
    assert found.evidence["window"] == "PT30M"
    assert wide.lookback == Lookback(customer=timedelta(minutes=30))


def test_rk2_no_recent_orders_is_no_duplicate() -> None:
    """RK-2: without recent orders (no data) nothing is a duplicate."""
    assert DUPLICATE.detect(ORDER, Context(), T0) is None


@pytest.mark.parametrize(
    "window",
    [timedelta(0), -MINUTE, timedelta(days=3651), timedelta(seconds=1.5), 600],
    ids=repr,
)
def test_rk2_a_window_must_be_whole_seconds_above_zero(window: Any) -> None:
    """RK-2: a window is a timedelta of whole seconds, above zero, at most 3650 days."""
    with pytest.raises(InvalidConfiguration) as raised:
        DuplicateOrderDetector(window=window)
    assert raised.value.setting == "window"


# Many orders from one customer (RK-1, RK-4) -----------------------------------------------

FREQUENCY = CustomerFrequencyDetector()


def _earlier(
    count: int, *, customer: str = "c-1", spacing: timedelta = MINUTE
) -> list[RecentOrder]:
    """``count`` orders of ``customer`` placed 1, 2, ... spacings before T0."""
    return [
        recent(f"{customer}-{n}", customer=customer, after=-(n + 1) * spacing) for n in range(count)
    ]


def test_rk1_five_orders_in_an_hour_the_order_counted_is_suspected_fraud() -> None:
    """RK-1: four earlier orders and this one reach the threshold of 5: suspected fraud,
    frozen (RK-4), with the count, the window and the threshold."""
    found = FREQUENCY.detect(ORDER, _customer(*_earlier(4)), T0)
    assert found is not None
    assert found.type is ExceptionType.SUSPECTED_FRAUD
    assert found.detector == "RK-1-customer"
    assert dict(found.evidence) == {
        "count": 5,
        "window": "PT1H",
        "threshold": 5,
        "window_start": T0 - timedelta(hours=1),
        "placed_at": T0,
    }
    assert found.blocks_review
    assert found.freezes
    assert found.playbook == (Resolution.RELEASE, Resolution.CLOSE_AS_FRAUD)


def test_rk1_one_order_below_the_threshold_is_no_finding() -> None:
    """RK-1: three earlier orders and this one make 4, below 5: the near miss."""
    assert FREQUENCY.detect(ORDER, _customer(*_earlier(3)), T0) is None


def test_rk1_an_order_exactly_one_window_earlier_is_not_counted() -> None:
    """RK-1: the window looks back from the placement; its end instant is outside."""
    orders = [*_earlier(3), recent("c-1-edge", after=-timedelta(hours=1))]
    assert FREQUENCY.detect(ORDER, _customer(*orders), T0) is None
    orders[-1] = recent("c-1-edge", after=-timedelta(minutes=59, seconds=59))
    assert FREQUENCY.detect(ORDER, _customer(*orders), T0) is not None


def test_rk1_later_orders_other_customers_and_the_order_itself_are_not_counted() -> None:
    """RK-1: only the customer's other orders placed up to this one count, this one once."""
    orders = [
        *_earlier(3),
        recent("later", after=MINUTE),
        recent("theirs", customer="c-2", after=-MINUTE),
        RecentOrder.of(ORDER),
    ]
    assert FREQUENCY.detect(ORDER, _customer(*orders), T0) is None
    orders.append(recent("same-instant", after=timedelta(0)))
    found = FREQUENCY.detect(ORDER, _customer(*orders), T0)
    assert found is not None
    assert found.evidence["count"] == 5


def test_rk1_closed_orders_still_count_towards_the_frequency() -> None:
    """RK-1: orders placed and closed show the same pace as any other."""
    orders = [
        RecentOrder.of(
            LIFECYCLE.handle(
                placed(f"closed-{n}", at=T0 - (n + 1) * MINUTE),
                Close(CloseReason.CUSTOMER_CANCELLED),
                STAFF,
                T0,
            ).order
        )
        for n in range(4)
    ]
    assert FREQUENCY.detect(ORDER, _customer(*orders), T0) is not None


def test_rk1_the_threshold_and_window_are_configuration() -> None:
    """RK-1: 3 per 10 minutes: two earlier orders 9 minutes apart fire, 11 do not."""
    strict = CustomerFrequencyDetector(threshold=3, window=timedelta(minutes=10))
    found = strict.detect(ORDER, _customer(*_earlier(2, spacing=4 * MINUTE)), T0)
    assert found is not None
    assert (found.evidence["threshold"], found.evidence["window"]) == (3, "PT10M")
    assert strict.detect(ORDER, _customer(*_earlier(2, spacing=6 * MINUTE)), T0) is None
    assert strict.lookback == Lookback(customer=timedelta(minutes=10))


@pytest.mark.parametrize("threshold", [0, 1, 1001, True, 2.0, "5"], ids=repr)
def test_rk1_a_threshold_is_a_whole_number_from_two(threshold: Any) -> None:
    """RK-1: a threshold of one would flag every order; it is refused."""
    with pytest.raises(InvalidConfiguration) as raised:
        CustomerFrequencyDetector(threshold=threshold)
    assert raised.value.setting == "threshold"
    with pytest.raises(InvalidConfiguration):
        AddressAccountsDetector(threshold=threshold)


# Many accounts ordering to one address (RK-1, RK-4) ---------------------------------------

ACCOUNTS = AddressAccountsDetector()


def test_rk1_three_accounts_to_one_address_in_a_day_is_suspected_fraud() -> None:
    """RK-1: two other accounts and this order's customer reach 3 in 24 hours: frozen."""
    context = _address(
        recent("a-1", customer="c-2", after=-timedelta(hours=23, minutes=59, seconds=59)),
        recent("a-2", customer="c-3", after=-MINUTE),
    )
    found = ACCOUNTS.detect(ORDER, context, T0)
    assert found is not None
    assert found.type is ExceptionType.SUSPECTED_FRAUD
    assert found.detector == "RK-1-address"
    assert dict(found.evidence) == {
        "count": 3,
        "window": "PT24H",
        "threshold": 3,
        "window_start": T0 - timedelta(hours=24),
        "placed_at": T0,
    }
    assert found.freezes
    assert found.blocks_review


def test_rk1_accounts_are_counted_once_each() -> None:
    """RK-1: many orders of one other account, and the customer's own, make 2 accounts."""
    context = _address(
        recent("a-1", customer="c-2", after=-MINUTE),
        recent("a-2", customer="c-2", after=-2 * MINUTE),
        recent("a-3", customer="c-1", after=-3 * MINUTE),
        recent("a-4", customer="c-1", after=-4 * MINUTE),
    )
    assert ACCOUNTS.detect(ORDER, context, T0) is None


def test_rk1_an_account_exactly_one_day_earlier_or_later_is_not_counted() -> None:
    """RK-1: the 24-hour window's end instant is outside; later orders never count."""
    context = _address(
        recent("a-1", customer="c-2", after=-MINUTE),
        recent("a-2", customer="c-3", after=-timedelta(hours=24)),
        recent("a-3", customer="c-4", after=MINUTE),
    )
    assert ACCOUNTS.detect(ORDER, context, T0) is None
    assert ACCOUNTS.lookback == Lookback(address=timedelta(hours=24))


# Unapplied payments (RK-3, D-10) ----------------------------------------------------------


def test_rk3_a_second_payment_for_a_paid_order_is_found_without_blocking_review() -> None:
    """RK-3: a payment the lifecycle did not apply (the order was paid) is a duplicate
    payment, naming it; it does not block review."""
    order = LIFECYCLE.handle(ORDER, Pay(ORDER.amount_due, "pay-1"), SYSTEM, T0).order
    assert DuplicatePaymentDetector().detect(order, Context(), T0) == ()
    order = LIFECYCLE.handle(order, Pay(cny("10.00"), "pay-2"), SYSTEM, T0 + MINUTE).order
    (found,) = DuplicatePaymentDetector().detect(order, Context(), T0)
    assert found.type is ExceptionType.DUPLICATE_PAYMENT
    assert dict(found.evidence) == {
        "payment": "pay-2",
        "amount": cny("10.00"),
        "received_at": T0 + MINUTE,
    }
    assert not found.blocks_review
    assert found.playbook == (Resolution.REFUND_SENT,)
    assert LatePaymentDetector().detect(order, Context(), T0) == ()


def test_d10_a_payment_for_a_closed_order_is_a_payment_after_close() -> None:
    """D-10: a payment reaching a closed order is found as such, not as a duplicate."""
    order = LIFECYCLE.handle(ORDER, Close(CloseReason.CUSTOMER_CANCELLED), STAFF, T0).order
    order = LIFECYCLE.handle(order, Pay(ORDER.amount_due, "pay-1"), SYSTEM, T0 + MINUTE).order
    (found,) = LatePaymentDetector().detect(order, Context(), T0)
    assert found.type is ExceptionType.PAYMENT_AFTER_CLOSE
    assert found.detector == "D-10-late-payment"
    assert found.evidence["payment"] == "pay-1"
    assert not found.blocks_review
    assert DuplicatePaymentDetector().detect(order, Context(), T0) == ()
