"""After-sales money: what each line and the order may still be refunded, and how amounts
split (AS-5, D-6, D-11).

Three things count against the caps: amounts requested by open cases that have not asked the
payment side yet (a case's hold), refunds pending, and refunds confirmed. A failed refund
frees its room until it is retried (D-6). The caps hold per order (what was paid) and per
line (what the buyer paid for the line, :attr:`~orderflow.OrderLine.paid_total`).

Units are counted the same way: units held by open cases (requested, approved, on their way
back, received, or waiting for a failed refund's retry) and units paid back by refunds
pending or confirmed are taken; the others are left.

A line's amount is divided among its units by largest remainder, the odd minor units to the
first units (D-11), and partial refunds take the units in order: a 10.00 line of 3 units
refunds 3.34, then 3.33, then 3.33. The last unit refunded gets what remains of the line, so
the parts always add up to the line exactly, even after a refund of an agreed amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from orderflow.aftersales.case import AfterSalesCase, CaseLine, CaseState
from orderflow.ledger import Refund, RefundStatus
from orderflow.money import _EXACT, MAX_AMOUNT, Money, _money, currency_exponent

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = [
    "LineStanding",
    "Standing",
    "allocate",
    "standing",
    "units_amount",
]


def _minor(money: Money) -> int:
    return int(money.amount.scaleb(currency_exponent(money.currency)))


def _of_minor(units: int, currency: str) -> Money:
    # Minor units of amounts already checked (parts of a line, shares of an amount): exact at
    # the currency's places and below 10^18, so the result needs no checking again.
    return _money(_EXACT.scaleb(Decimal(units), -currency_exponent(currency)), currency)


def units_amount(paid: Money, quantity: int, start: int, count: int) -> Money:
    """What ``count`` units of a line cost, from unit ``start`` on (D-11).

    The line's ``paid`` is divided among its ``quantity`` units by largest remainder, the odd
    minor units to the first units; this adds up the parts ``start`` to ``start + count``
    without building them.

    Args:
        paid: what the buyer paid for the whole line.
        quantity: the line's units.
        start: the first unit (0-based).
        count: how many units.

    Raises:
        ValueError: the units are not within the line.
    """
    if not 0 <= start <= start + count <= quantity:
        raise ValueError(f"units {start}..{start + count} are not within {quantity}")
    currency = paid.currency
    return _money(
        unit_parts(paid.amount, currency_exponent(currency), quantity, start, count), currency
    )


def unit_parts(paid: Decimal, exponent: int, quantity: int, start: int, count: int) -> Decimal:
    """The decimal of :func:`units_amount`, for a line's paid decimal in a currency of
    ``exponent`` minor places and units already known to be within the line."""
    share, left_over = divmod(int(_EXACT.scaleb(paid, exponent)), quantity)
    extra = max(0, min(start + count, left_over) - min(start, left_over))
    return _EXACT.scaleb(Decimal(share * count + extra), -exponent)


def allocate(amount: Money, weights: Sequence[Money]) -> tuple[Money, ...]:
    """Split ``amount`` in proportion to ``weights`` by largest remainder (D-11).

    Each part is the floor of its proportional share in minor units; the minor units left
    go one each to the parts with the largest remainders, the earlier part first on a tie.
    When ``amount`` is at most the sum of the weights, no part exceeds its weight.

    Args:
        amount: what to split (not negative).
        weights: one per part, not negative, in ``amount``'s currency, not all zero unless
            ``amount`` is zero.

    Raises:
        ValueError: no weights, negative values, or every weight zero for a positive amount.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    currency = amount.currency
    total = _minor(amount)
    scaled = [_minor(weight) for weight in weights]
    whole = sum(scaled)
    if total < 0 or any(weight < 0 for weight in scaled):
        raise ValueError("allocate splits amounts that are not negative")
    if whole == 0:
        if total:
            raise ValueError("cannot split a positive amount over weights that are all zero")
        return tuple(_of_minor(0, currency) for _ in scaled)
    parts = [total * weight // whole for weight in scaled]
    remainders = [total * weight % whole for weight in scaled]
    left = total - sum(parts)
    for index in sorted(range(len(parts)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    return tuple(_of_minor(part, currency) for part in parts)


def _room(paid: Money, requested: Money, pending: Money, refunded: Money) -> Money:
    """``paid - requested - pending - refunded``, in one currency, as one new amount.

    Amounts in one currency, none of them negative, as :func:`standing` makes them: each
    difference lies between ``paid`` and the last, so when the last is below 10^18 the
    subtractions one by one would have raised nothing. Anything else takes them one by one
    (and raises as they do)."""
    currency = paid.currency
    if requested.currency == currency == pending.currency == refunded.currency:
        taken = (requested.amount, pending.amount, refunded.amount)
        if paid.amount >= 0 and min(taken) >= 0:
            left = _subtract(_subtract(_subtract(paid.amount, taken[0]), taken[1]), taken[2])
            if left.copy_abs() < MAX_AMOUNT:
                return _money(left, currency)
    return paid - requested - pending - refunded


_subtract = _EXACT.subtract


_UNIT_HOLDING = frozenset(
    {
        CaseState.REQUESTED,
        CaseState.APPROVED,
        CaseState.RETURNING,
        CaseState.RECEIVED,
    }
)
"""The case states that hold their units; the units of a refund in flight or paid are
counted by the refund itself, and those of a declined refund by its case (below)."""


@attrs.frozen
class LineStanding:
    """Where one line stands: what it cost, what is asked, in flight and paid back (D-6).

    Attributes:
        sku: the line.
        quantity: its units.
        paid: what the buyer paid for it (its cap).
        requested: held by open cases that have not asked the payment side yet.
        pending: refunds asked for and not confirmed that hold room: pending, or failed with
            an unknown outcome (the provider may still pay them, D-17).
        failed: refunds the payment side declined, waiting for a retry: they hold no room
            meanwhile (D-6).
        refunded: refunds confirmed.
        units_taken: units held by open cases or paid back by refunds that hold room.
    """

    sku: str
    quantity: int
    paid: Money
    requested: Money
    pending: Money
    failed: Money
    refunded: Money
    units_taken: int

    @property
    def room(self) -> Money:
        """What the line may still be refunded: paid, less requested, pending and refunded."""
        return _room(self.paid, self.requested, self.pending, self.refunded)

    @property
    def units_left(self) -> int:
        """The units no open case holds and no refund has paid back."""
        return self.quantity - self.units_taken

    def amount_for(self, units: int) -> Money:
        """What the next ``units`` units refund (D-11): their parts, in unit order, or what
        remains of the line for the last ones; never more than the line's room.

        Raises:
            ValueError: more units than are left.
        """
        if units == self.units_left:
            return self.room
        parts = units_amount(self.paid, self.quantity, self.units_taken, units)
        return min(parts, self.room)

    def parts_for(self, units: int) -> Money:
        """What the next ``units`` units cost by D-11 alone, before any earlier refund of an
        agreed amount reduced the line (what :meth:`amount_for` is compared with)."""
        return units_amount(self.paid, self.quantity, self.units_taken, units)


@attrs.frozen
class Standing:
    """Where an order's refunds stand, for itself and line by line (D-6).

    Attributes:
        paid: what was paid (applied payments).
        requested: held by open cases.
        pending: refunds asked for and not confirmed that hold room (pending, or failed with an
            unknown outcome), against what was paid.
        failed: refunds the payment side declined, waiting for a retry (no room held).
        refunded: refunds confirmed that count against what was paid.
        lines: each line's standing, in the order's line order.
    """

    paid: Money
    requested: Money
    pending: Money
    failed: Money
    refunded: Money
    lines: tuple[LineStanding, ...]

    @property
    def room(self) -> Money:
        """What the order may still be refunded: paid, less requested, pending, refunded."""
        return _room(self.paid, self.requested, self.pending, self.refunded)

    def line(self, sku: str) -> LineStanding | None:
        """One line's standing, ``None`` for a SKU the order does not have."""
        for line in self.lines:
            if line.sku == sku:
                return line
        return None


class _Tally:
    """A line's running totals while :func:`standing` adds them up."""

    __slots__ = ("failed", "pending", "refunded", "requested", "units")

    def __init__(self, zero: Money) -> None:
        self.requested = self.pending = self.failed = self.refunded = zero
        self.units = 0

    def add_refund(self, refund: Refund, amount: Money, units: int) -> None:
        if refund.status is RefundStatus.REFUNDED:
            self.refunded = self.refunded + amount
        elif refund.holds_room:  # pending, or failed with an unknown outcome (D-17)
            self.pending = self.pending + amount
        else:
            self.failed = self.failed + amount
            return  # a declined refund's units are held by its case
        self.units += units


def standing(order: Order, *, without: str | None = None) -> Standing:
    """Where an order's refunds stand, for itself and each line (AS-5, D-6).

    Args:
        order: the order.
        without: a case to leave out (the case being decided, whose own hold is about to
            become its refund or be freed).
    """
    ledger = order.ledger
    currency = ledger.amount_due.currency
    zero = Money.zero(currency)
    if not ledger.refunds and all(case.case_id == without for case in order.cases):
        # Nothing is held, in flight or paid back (the order's first case, being decided):
        # every line stands whole.
        return Standing(
            ledger.amount_paid,
            zero,
            ledger.amount_refund_pending,
            zero,
            ledger.amount_refunded,
            tuple(
                LineStanding(line.sku, line.quantity, line.paid_total, zero, zero, zero, zero, 0)
                for line in order.lines
            ),
        )
    tallies = {line.sku: _Tally(zero) for line in order.lines}
    failed = zero
    waiting = {case.case_id for case in order.cases if case.is_open and case.case_id != without}
    for refund in ledger.refunds:
        if not refund.counts_against_paid:
            continue
        if not refund.holds_room:
            failed = failed + refund.amount
        for share in refund.shares:
            tally = tallies.get(share.sku)
            if tally is not None:
                tally.add_refund(refund, share.amount, share.units)
                if not refund.holds_room and refund.case_id in waiting:
                    # a declined refund's units stay with its open case until it is retried
                    tally.units += share.units
    requested = zero
    for case in order.cases:
        if case.case_id == without:
            continue
        holding = case.holds_room
        units = case.state in _UNIT_HOLDING
        if holding:
            requested = requested + case.amount
        if not holding and not units:
            continue
        for case_line in case.lines:
            tally = tallies.get(case_line.sku)
            if tally is None or case_line.rejected:
                continue
            if holding:
                tally.requested = tally.requested + case_line.amount
            if units:
                tally.units += _held_units(case, case_line)
    lines = tuple(
        LineStanding(
            line.sku,
            line.quantity,
            line.paid_total,
            tally.requested,
            tally.pending,
            tally.failed,
            tally.refunded,
            tally.units,
        )
        for line in order.lines
        for tally in (tallies[line.sku],)
    )
    return Standing(
        ledger.amount_paid,
        requested,
        ledger.amount_refund_pending,
        failed,
        ledger.amount_refunded,
        lines,
    )


def _held_units(case: AfterSalesCase, line: CaseLine) -> int:
    if case.state is CaseState.RECEIVED and line.received:
        return line.received
    return line.approved or line.quantity
