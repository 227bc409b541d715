"""Helpers the after-sales case tests share: a shop, an order walked to a state, actors with
the permissions each command needs, and short ways to send a command or expect a refusal.

The order of these tests has three lines: ``TEA`` (3 units for which the buyer paid 10.00
after a line discount, so D-11 splits it 3.34, 3.33, 3.33), ``CUP`` (1 unit, 5.00) and
``BOWL`` (2 units of 20.00). It is delivered on 2026-03-10 at 15:00 in Shanghai, so its
no-reason window ends at 2026-03-18T00:00+08:00 and its quality window at
2026-03-26T00:00+08:00 (D-4).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    CommandRefused,
    ConfirmDelivery,
    ConfirmRefund,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    Outcome,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.aftersales import (
    AfterSalesCase,
    ApproveCase,
    CaseKind,
    CaseReason,
    CaseState,
    ExclusionFlag,
    ReceiveReturn,
    RequestAfterSales,
    ShipBack,
    Units,
)
from orderflow.commands import Command
from orderflow.ledger import Refund

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLACED_AT = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
DELIVERED_AT = datetime(2026, 3, 10, 15, 0, tzinfo=SHANGHAI)
NO_REASON_ENDS = datetime(2026, 3, 18, 0, 0, tzinfo=SHANGHAI)
QUALITY_ENDS = datetime(2026, 3, 26, 0, 0, tzinfo=SHANGHAI)
AFTER_DELIVERY = datetime(2026, 3, 12, 12, 0, tzinfo=SHANGHAI)
"""When the tests' requests are made on a delivered order: within both windows."""

LC = Lifecycle()
BUYER = Actor.customer("c-1")
OTHER_BUYER = Actor.customer("c-2")
AGENT = Actor.staff("agent-1", Permission.AFTERSALES)
"""Handles cases (``aftersales.manage``) and nothing more."""
SUPERVISOR = Actor.staff("sup-1", Permission.AFTERSALES, Permission.AFTERSALES_REVIEW)
OVERRIDER = Actor.staff("lead-1", Permission.AFTERSALES, Permission.AFTERSALES_OVERRIDE)
CASHIER = Actor.staff("cash-1", Permission.REFUND)
"""May refund money (``order.refund``), not handle cases."""
STAFF = Actor.staff("boss", *sorted(Permission.all()))
SYSTEM = Actor.system("timers")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")


def cny(amount: str) -> Money:
    """An amount in yuan."""
    return Money(amount, "CNY")


LINES = (
    OrderLine("TEA", 3, cny("3.50"), paid=cny("10.00")),
    OrderLine("CUP", 1, cny("5.00")),
    OrderLine("BOWL", 2, cny("20.00")),
)
PAID = cny("55.00")
FISH = (OrderLine("FISH", 1, cny("30.00"), exclusions=frozenset({ExclusionFlag.PERISHABLE})),)
"""The one line of an order excluded from the no-reason return (AS-2 (b))."""


def run(
    order: Order,
    command: Command,
    actor: Actor = STAFF,
    at: datetime | None = None,
    lifecycle: Lifecycle = LC,
) -> Outcome:
    """Handle a command a minute after the order's last change (unless ``at`` is given)."""
    when = at or order.updated_at + timedelta(minutes=1)
    return lifecycle.handle(order, command, actor, when)


def step(
    order: Order,
    command: Command,
    actor: Actor = STAFF,
    at: datetime | None = None,
    lifecycle: Lifecycle = LC,
) -> Order:
    """The order after a command (see :func:`run`)."""
    return run(order, command, actor, at, lifecycle).order


def refused(
    order: Order,
    command: Command,
    actor: Actor = STAFF,
    at: datetime | None = None,
    lifecycle: Lifecycle = LC,
) -> CommandRefused:
    """The refusal of a command; :meth:`Lifecycle.check` must give the same reasons."""
    when = at or order.updated_at + timedelta(minutes=1)
    version = order.version
    with pytest.raises(CommandRefused) as caught:
        lifecycle.handle(order, command, actor, when)
    assert order.version == version
    assert lifecycle.check(order, command, actor, when) == caught.value.reasons
    return caught.value


def placed(lines: tuple[OrderLine, ...] = LINES, lifecycle: Lifecycle = LC) -> Order:
    """A freshly placed order."""
    command = PlaceOrder("o-1", BUYER.id, lines, ADDRESS)
    return lifecycle.place(command, BUYER, PLACED_AT).order


def _total(lines: Iterable[OrderLine]) -> Money:
    return Money.sum((line.paid_total for line in lines), "CNY")


def paid(lines: tuple[OrderLine, ...] = LINES, lifecycle: Lifecycle = LC) -> Order:
    """An order paid in full."""
    return step(placed(lines, lifecycle), Pay(_total(lines), "pay-1"), SYSTEM, lifecycle=lifecycle)


def awaiting_shipment(lines: tuple[OrderLine, ...] = LINES, lifecycle: Lifecycle = LC) -> Order:
    """An order that passed review."""
    return step(paid(lines, lifecycle), ApproveReview(), lifecycle=lifecycle)


def shipped(lines: tuple[OrderLine, ...] = LINES, lifecycle: Lifecycle = LC) -> Order:
    """An order with the carrier."""
    order = step(awaiting_shipment(lines, lifecycle), StartFulfilment(), lifecycle=lifecycle)
    return step(order, Ship("SF Express", "SF1234567890"), lifecycle=lifecycle)


def delivered(lines: tuple[OrderLine, ...] = LINES, lifecycle: Lifecycle = LC) -> Order:
    """An order delivered at :data:`DELIVERED_AT`."""
    order = shipped(lines, lifecycle)
    return step(order, ConfirmDelivery(), SYSTEM, DELIVERED_AT, lifecycle)


def ask(
    order: Order,
    kind: CaseKind,
    reason: CaseReason,
    *units: Units,
    amount: Money | None = None,
    actor: Actor = BUYER,
    at: datetime | None = None,
    lifecycle: Lifecycle = LC,
) -> Order:
    """The order after a request (at :data:`AFTER_DELIVERY` on a delivered order that has
    not changed since its delivery, unless ``at`` is given)."""
    if at is None and order.updated_at == DELIVERED_AT.astimezone(UTC):
        at = AFTER_DELIVERY
    command = RequestAfterSales(kind, reason, units, amount)
    return step(order, command, actor, at, lifecycle)


def last_case(order: Order) -> AfterSalesCase:
    """The case opened last."""
    return order.cases[-1]


def case(order: Order, case_id: str) -> AfterSalesCase:
    """The case with this id (it must exist)."""
    found = order.case(case_id)
    assert found is not None
    return found


def last_refund(order: Order) -> Refund:
    """The refund requested last."""
    return order.ledger.refunds[-1]


def returning(order: Order, *units: Units, reason: CaseReason = CaseReason.NO_REASON,
              kind: CaseKind = CaseKind.RETURN) -> tuple[Order, str]:  # fmt: skip
    """A return (or exchange) of ``units`` asked, approved and shipped back; its case id."""
    order = ask(order, kind, reason, *units)
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT123456"), BUYER)
    assert case(order, case_id).state is CaseState.RETURNING
    return order, case_id


def returned(order: Order, *units: Units) -> tuple[Order, str]:
    """A no-reason return of ``units`` asked, approved, shipped back and received; its id."""
    order, case_id = returning(order, *units)
    order = step(order, ReceiveReturn(case_id, units), AGENT)
    return order, case_id


def confirm_all(order: Order) -> Order:
    """The order with every pending refund confirmed."""
    for refund in order.ledger.refunds:
        if refund.status.value == "pending":
            order = step(order, ConfirmRefund(refund.refund_id), SYSTEM)
    return order
