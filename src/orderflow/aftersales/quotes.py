"""What a request, an approval or a receipt would refund, line by line (AS-5, D-6, D-7, D-11).

A :class:`Quote` is computed from the order as it stands (:func:`~orderflow.aftersales.money.
standing`) and never clamps: when the units asked for are not left, or the amount is over a
cap, it says so (:attr:`Quote.problem`) with the values the refusal names, and the command is
refused. A quote whose amount is less than the units' price (an earlier refund of an agreed
amount on the same line) says why in :attr:`Quote.note`, naming the earlier refunds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from orderflow.aftersales.case import AfterSalesCase, CaseLine, CaseState
from orderflow.aftersales.commands import (
    ApproveCase,
    CaseCommand,
    RequestAfterSales,
    Units,
)
from orderflow.aftersales.followups import ReceiveReturn
from orderflow.aftersales.model import CaseKind
from orderflow.aftersales.money import LineStanding, Standing, allocate, standing, unit_parts
from orderflow.commands import Command
from orderflow.frozen import replace
from orderflow.ledger import LineShare, RefundStatus
from orderflow.money import _EXACT, Money, _money, currency_exponent

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = [
    "Quote",
    "approval_for",
    "approval_of",
    "approval_quote",
    "receipt_for",
    "receipt_of",
    "receipt_quote",
    "request_quote",
    "shares_of",
]


@attrs.frozen
class Quote:
    """What a case would hold or refund now.

    Attributes:
        lines: the case's lines with their amounts.
        amount: their total.
        note: why the amount is less than the units' price, when it is.
        problem: why it cannot be done (``"unknown_line"``, ``"units_left"``,
            ``"over_cap"``, ``"currency"``, ``"not_approved"``, ``"more_than_approved"``,
            ``"deduction_too_large"``, ``"nothing_to_deduct"``), or ``""``.
        values: what the refusal names (the SKU, the units or the amount left).
    """

    lines: tuple[CaseLine, ...]
    amount: Money
    note: str = ""
    problem: str = ""
    values: Mapping[str, object] = attrs.field(factory=dict, hash=False)


def _refused(code: str, problem: str, **values: object) -> Quote:
    """A quote that refuses, in the order's currency ``code``, naming ``values``."""
    return Quote((), Money.zero(code), "", problem, values)


def _earlier(order: Order, sku: str) -> str:
    ids = [
        refund.refund_id
        for refund in order.ledger.refunds
        if refund.counts_against_paid
        and refund.status is not RefundStatus.FAILED
        and any(share.sku == sku for share in refund.shares)
    ]
    return ", ".join(ids) if ids else "an earlier case"


def _unit_lines(
    order: Order,
    now: Standing,
    wanted: Iterable[tuple[str, int]],
    *,
    money: bool,
) -> Quote:
    """The quote for units of lines (SKU and units), each line's next units in order (D-11).

    What :meth:`~orderflow.aftersales.LineStanding.amount_for` and
    :meth:`~orderflow.aftersales.LineStanding.parts_for` give, worked out once per line on
    the decimals of ``now`` (the standing of ``order``, all in its currency, none negative),
    with amounts made only for the lines and the total."""
    currency = order.currency
    exponent = currency_exponent(currency)
    lines: list[CaseLine] = []
    notes: list[str] = []
    zero = Money.zero(currency)
    total = zero.amount
    for sku, quantity in wanted:
        line = now.line(sku)
        if line is None:
            return _refused(currency, "unknown_line", sku=sku)
        left = line.units_left
        if quantity > left:
            return _refused(currency, "units_left", sku=sku, left=left, asked=quantity)
        if money:
            room = _room_of(line)
            worth = unit_parts(
                line.paid.amount, exponent, line.quantity, line.units_taken, quantity
            )
            value = room if quantity == left or room < worth else worth
            amount = _money(value, currency)
            if value < worth:
                notes.append(
                    f"{quantity} unit(s) of {sku} are worth {_money(worth, currency)}; earlier "
                    f"refunds of this line ({_earlier(order, sku)}) leave {amount} to refund."
                )
            total = _add(total, value)
        else:
            amount = zero
        lines.append(CaseLine(sku, quantity, amount))
    if total > _room_of(now):
        return _refused(currency, "over_cap", remaining=now.room)
    if len(lines) == 1 and money:
        return Quote((lines[0],), lines[0].amount, " ".join(notes))
    return Quote(tuple(lines), _money(total, currency), " ".join(notes))


def _room_of(standing: LineStanding | Standing) -> Decimal:
    """The decimal of :attr:`LineStanding.room` (or :attr:`Standing.room`) of a standing
    :func:`~orderflow.aftersales.standing` made: one currency, nothing negative, in range."""
    return _subtract(
        _subtract(
            _subtract(standing.paid.amount, standing.requested.amount), standing.pending.amount
        ),
        standing.refunded.amount,
    )


_add = _EXACT.add
_subtract = _EXACT.subtract


def _spread(order: Order, now: Standing, amount: Money, wanted: tuple[Units, ...]) -> Quote:
    """An agreed amount spread over lines by what each may still be refunded (D-11)."""
    currency = order.currency
    if amount.currency != currency:
        return _refused(currency, "currency", currency=currency)
    targets: list[tuple[LineStanding, int]] = []
    for units in wanted:
        line = now.line(units.sku)
        if line is None:
            return _refused(currency, "unknown_line", sku=units.sku)
        if units.quantity > line.units_left:
            return _refused(
                currency, "units_left", sku=units.sku, left=line.units_left, asked=units.quantity
            )
        targets.append((line, units.quantity))
    if not wanted:
        targets = [(line, 0) for line in now.lines]
    room = Money.sum((line.room for line, _ in targets), currency)
    remaining = min(room, now.room)
    if amount > remaining:
        return _refused(currency, "over_cap", remaining=remaining)
    parts = allocate(amount, [line.room for line, _ in targets])
    lines = tuple(
        CaseLine(line.sku, units, part)
        for (line, units), part in zip(targets, parts, strict=True)
        if part.is_positive() or units
    )
    return Quote(lines, amount)


def request_quote(order: Order, command: RequestAfterSales) -> Quote:
    """What a request would hold: its lines, their amounts, and any problem (D-6, D-11).

    A refund with goods not received names all the units left when it names none; a refund
    only spreads its agreed amount over the lines it names (or all lines) by what each may
    still be refunded; an exchange holds units and no money.
    """
    now = standing(order)
    if command.kind is CaseKind.REFUND_ONLY:
        assert command.amount is not None
        return _spread(order, now, command.amount, command.lines)
    wanted = command.lines
    if not wanted:
        wanted = tuple(Units(line.sku, line.units_left) for line in now.lines if line.units_left)
        if not wanted:
            return _refused(order.currency, "nothing_left")
    return _unit_lines(
        order,
        now,
        [(units.sku, units.quantity) for units in wanted],
        money=command.kind is not CaseKind.EXCHANGE,
    )


def approval_quote(order: Order, case: AfterSalesCase, skus: Iterable[str]) -> Quote:
    """What approving these lines of a case holds now, computed again: the case's own hold
    is left out, so a case approved after a rejection or a review is checked against what
    other cases and refunds took meanwhile (D-6)."""
    now = standing(order, without=case.case_id)
    chosen = [line for line in case.lines if line.sku in set(skus)]
    if case.kind is CaseKind.REFUND_ONLY:
        currency = order.currency
        total = Money.sum((line.amount for line in chosen), currency)
        for line in chosen:
            standing_line = now.line(line.sku)
            assert standing_line is not None
            if line.amount > standing_line.room or line.quantity > standing_line.units_left:
                return _refused(currency, "over_cap", remaining=min(standing_line.room, now.room))
        if total > now.room:
            return _refused(currency, "over_cap", remaining=now.room)
        return Quote(tuple(chosen), total)
    quote = _unit_lines(
        order,
        now,
        [(line.sku, line.quantity) for line in chosen],
        money=case.kind is not CaseKind.EXCHANGE,
    )
    if quote.problem:
        return quote
    merged = tuple(
        replace(line, amount=priced.amount, approved=line.quantity)
        for line, priced in zip(chosen, quote.lines, strict=True)
    )
    return Quote(merged, quote.amount, quote.note)


def receipt_quote(
    order: Order,
    case: AfterSalesCase,
    received: Iterable[Units],
    deduction: Money | None = None,
) -> Quote:
    """What receiving these units refunds (D-7: what was received), less a deduction for
    goods the buyer damaged; units beyond those approved, or of a line not approved, are
    refused, never clamped."""
    currency = order.currency
    counts: dict[str, int] = {}
    for units in received:
        line = case.line(units.sku)
        if line is None or line.rejected or not line.approved:
            return _refused(currency, "not_approved", sku=units.sku)
        if units.quantity > line.approved:
            return _refused(
                currency,
                "more_than_approved",
                sku=units.sku,
                approved=line.approved,
                asked=units.quantity,
            )
        counts[units.sku] = units.quantity
    money = case.kind is not CaseKind.EXCHANGE
    if deduction is not None and not money:
        return _refused(currency, "nothing_to_deduct")
    now = standing(order, without=case.case_id)
    quote = _unit_lines(order, now, counts.items(), money=money)
    if quote.problem:
        return quote
    lines = {line.sku: line for line in quote.lines}
    updated = tuple(
        replace(
            line,
            received=counts.get(line.sku, 0),
            amount=lines[line.sku].amount if line.sku in lines else Money.zero(currency),
        )
        for line in case.lines
    )
    amount, note = quote.amount, quote.note
    if deduction is not None and money:
        if deduction.currency != currency:
            return _refused(currency, "currency", currency=currency)
        if deduction >= amount:
            return _refused(currency, "deduction_too_large", amount=amount)
        cuts = allocate(deduction, [line.amount for line in updated])
        updated = tuple(
            replace(line, amount=line.amount - cut) for line, cut in zip(updated, cuts, strict=True)
        )
        amount = amount - deduction
        note = f"{note} {deduction} deducted for damage.".strip()
    return Quote(updated, amount, note)


def shares_of(case: AfterSalesCase, lines: Iterable[CaseLine]) -> tuple[LineShare, ...]:
    """The lines a refund of the case pays back, with the units it pays for: the received
    units of a return, the units of a refund with goods not received, none for a refund
    only (the buyer keeps the goods)."""
    kind = case.kind
    return tuple(
        LineShare(
            line.sku,
            line.amount,
            line.received
            if kind is CaseKind.RETURN
            else (line.approved or line.quantity)
            if kind is CaseKind.NOT_RECEIVED
            else 0,
        )
        for line in lines
        if line.amount.is_positive() and not line.rejected
    )


def _remembered(
    compute: Callable[[Order, Command], Quote],
) -> Callable[[Order, Command], Quote]:
    """``compute``, keeping its last result for the very same order and command: a command's
    guards, its condition and its applier all ask for the same quote."""
    last: list[tuple[Order, Command, Quote] | None] = [None]

    @functools.wraps(compute)
    def quote(order: Order, command: Command) -> Quote:
        held = last[0]
        if held is not None and held[0] is order and held[1] is command:
            return held[2]
        result = compute(order, command)
        last[0] = (order, command, result)
        return result

    return quote


def _the_case(order: Order, command: Command) -> AfterSalesCase:
    assert isinstance(command, CaseCommand)
    case = order.case(command.case_id)
    assert case is not None
    return case


def approval_of(order: Order, command: Command) -> Quote:
    """What approving a case holds now: the lines an approval names (all those not rejected
    by default), or, for a rejected case reviewed or overridden, all of them (D-6, D-8)."""
    case = _the_case(order, command)
    if case.state in (CaseState.REJECTED, CaseState.IN_REVIEW):
        case = case.reopened()
        chosen = tuple(line.sku for line in case.lines)
    else:
        skus = command.skus if isinstance(command, ApproveCase) else ()
        chosen = skus or tuple(line.sku for line in case.lines if not line.rejected)
    return approval_quote(order, case, chosen)


def receipt_of(order: Order, command: Command) -> Quote:
    """What receiving a case's goods refunds: the units a receipt names, or all the units
    approved (an overdue receipt, a lost return settled with a refund) (D-7)."""
    case = _the_case(order, command)
    if isinstance(command, ReceiveReturn):
        return receipt_quote(order, case, command.lines, command.deduction)
    units = tuple(
        Units(line.sku, line.approved) for line in case.lines if line.approved and not line.rejected
    )
    return receipt_quote(order, case, units)


approval_for = _remembered(approval_of)
receipt_for = _remembered(receipt_of)
