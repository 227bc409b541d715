"""After-sales at the edges where the money, the units and the timers meet: refunds of
unknown outcome, shipping refunds, refunds only failing, orders closed in full after
delivery, timers fired early (AS-3, AS-5, D-6, D-12, D-15, D-17)."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from orderflow import CommandRefused, ConfirmRefund, FailRefund, Order, OrderLine, RetryRefund
from orderflow.adapters.sql import SqlStore
from orderflow.aftersales import (
    ApproveCase,
    CaseKind,
    CaseReason,
    CaseState,
    CloseReturnWindow,
    ExpireCase,
    ReceiveReturn,
    RejectCase,
    RespondForSeller,
    ShipBack,
    Units,
    standing,
)
from orderflow.machine import check_invariants
from orderflow.model import OrderState
from orderflow.serialization import dump, load
from tests.case_support import (
    AGENT,
    BUYER,
    LC,
    SYSTEM,
    ask,
    case,
    cny,
    confirm_all,
    delivered,
    last_case,
    last_refund,
    step,
)


def _units_left(order: Order, sku: str) -> int:
    line = standing(order).line(sku)
    assert line is not None
    return line.units_left


def test_d17_a_refund_of_unknown_outcome_keeps_its_lines_room() -> None:
    """D-17, D-6, AS-5: a refund of the cup that failed with an unknown outcome keeps the
    cup's room (the provider may still pay it), so a refund only spread over the lines
    afterwards gives the cup nothing, and no line is ever refunded above what it cost."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, Units("CUP", 1),
                amount=cny("5.00"))  # fmt: skip
    order = step(order, ApproveCase(last_case(order).case_id), AGENT)
    unknown = last_refund(order).refund_id
    order = step(order, FailRefund(unknown, "gateway timed out"), SYSTEM)
    cup = standing(order).line("CUP")
    assert cup is not None
    assert cup.room == cny("0.00")
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("50.00"))
    assert [line.sku for line in last_case(order).lines] == ["TEA", "BOWL"]
    order = step(order, ApproveCase(last_case(order).case_id), AGENT)
    order = step(order, ConfirmRefund(last_refund(order).refund_id), SYSTEM)
    order = step(order, RetryRefund(unknown), SYSTEM)
    order = step(order, ConfirmRefund(unknown), SYSTEM)
    for line in order.lines:
        refunded = sum(
            (share.amount for refund in order.ledger.refunds
             if refund.status.value == "refunded" for share in refund.shares
             if share.sku == line.sku),
            cny("0.00"),
        )  # fmt: skip
        assert refunded <= line.paid_total, line.sku


def test_d12_a_full_refund_leaves_a_case_with_its_shipping_refund_in_flight_open() -> None:
    """D-12, D-13, AS-3, AS-6: the goods' refund of a quality return reaching everything
    paid closes the order (refunded_in_full), but the case's seller-paid shipping refund is
    still pending: the case stays open (refund_pending) and is refunded once that refund is
    confirmed, not closed with money in flight."""
    order = delivered((OrderLine("CUP", 1, cny("5.00")),))
    order = ask(order, CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1", cny("8.00")), BUYER)
    order = step(order, ReceiveReturn(case_id, (Units("CUP", 1),)), AGENT)
    goods, shipping = order.ledger.refunds
    order = step(order, ConfirmRefund(goods.refund_id), SYSTEM)
    assert order.state is OrderState.CLOSED
    assert case(order, case_id).state is CaseState.REFUND_PENDING
    assert case(order, case_id).deadline in order.deadlines
    order = step(order, ConfirmRefund(shipping.refund_id), SYSTEM)
    assert case(order, case_id).state is CaseState.REFUNDED


def test_d15_a_case_timer_fired_before_its_deadline_is_refused() -> None:
    """D-15, AS-4, D-8: the system's timer commands of a case act only once the case's
    deadline is due: firing them early (the seller still has time to answer, the buyer to
    ship back or to ask for a review) is refused and changes nothing, like the lifecycle's
    auto_close_unpaid and auto_confirm_receipt (not_yet_due)."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    early = order.updated_at + timedelta(hours=1)
    approved = step(order, ApproveCase(case_id), AGENT)
    rejected = step(order, RejectCase(case_id, "no"), AGENT)
    window = delivered()
    for target, command in (
        (order, RespondForSeller(case_id)),
        (approved, ExpireCase(case_id)),
        (rejected, ExpireCase(case_id)),
        (window, CloseReturnWindow("no_reason")),
    ):
        at = max(early, target.updated_at + timedelta(minutes=1))
        with pytest.raises(CommandRefused) as refused:
            LC.handle(target, command, SYSTEM, at)
        assert refused.value.code.endswith(".not_yet_due")


def test_d12_an_order_closed_in_full_after_delivery_is_read_back() -> None:
    """D-12, PT-1: a delivered order whose refunds reach everything paid closes
    (refunded_in_full) with its shipment kept; it passes check_invariants, round-trips
    through JSON, and a store that did not write it reads it back."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("55.00"))
    order = confirm_all(step(order, ApproveCase(last_case(order).case_id), AGENT))
    assert order.state is OrderState.CLOSED
    assert order.shipment is not None
    check_invariants(order)
    assert load(json.loads(json.dumps(dump(order))), Order) == order
    path = Path(tempfile.mkdtemp()) / "orders.sqlite3"
    writer = SqlStore.sqlite(str(path))
    writer.add(order)
    reader = SqlStore.sqlite(str(path))
    assert reader.get(order.id) == order
    writer.close()
    reader.close()


def test_d6_a_refund_only_failing_does_not_bring_back_units_another_case_took() -> None:
    """D-6: the units an open refund only of one unit holds do not change when its refund
    fails: a refund of goods not received asked meanwhile for every unit left keeps them,
    and no line ever has fewer than no units left."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, Units("TEA", 1),
                amount=cny("0.01"))  # fmt: skip
    order = step(order, ApproveCase(last_case(order).case_id), AGENT)
    refund_id = last_refund(order).refund_id
    order = ask(order, CaseKind.NOT_RECEIVED, CaseReason.EMPTY_PARCEL)
    before = _units_left(order, "TEA")
    order = step(order, FailRefund(refund_id, "declined", declined=True), SYSTEM)
    assert _units_left(order, "TEA") == before
    assert before >= 0


def test_as3_a_shipping_refund_failing_does_not_count_the_returned_units_twice() -> None:
    """D-6, AS-3, AS-6: a quality return's seller-paid shipping refund declined leaves the
    units its goods refund pays back counted once: the bowls' units left do not change and
    never go below none."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("BOWL", 2))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1", cny("8.00")), BUYER)
    order = step(order, ReceiveReturn(case_id, (Units("BOWL", 2),)), AGENT)
    before = _units_left(order, "BOWL")
    shipping = last_refund(order)
    order = step(order, FailRefund(shipping.refund_id, "declined", declined=True), SYSTEM)
    assert _units_left(order, "BOWL") == before == 0


def test_as3_a_declined_shipping_refund_is_retried_outside_the_cap() -> None:
    """AS-3, D-6, AS-6: a seller-paid shipping refund is outside the goods cap, so its retry
    after a decline is not refused for room other refunds took meanwhile."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("BOWL", 2))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1", cny("8.00")), BUYER)
    order = step(order, ReceiveReturn(case_id, (Units("BOWL", 2),)), AGENT)
    shipping = last_refund(order)
    order = step(order, FailRefund(shipping.refund_id, "declined", declined=True), SYSTEM)
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("15.00"))
    order = step(order, ApproveCase(last_case(order).case_id), AGENT)
    assert standing(order).room == cny("0.00")
    order = step(order, RetryRefund(shipping.refund_id), SYSTEM)
    retried = order.ledger.refund(shipping.refund_id)
    assert retried is not None
    assert retried.status.value == "pending"
    assert case(order, case_id).state is CaseState.REFUND_PENDING
