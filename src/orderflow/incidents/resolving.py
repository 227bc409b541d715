"""Resolving an exception case: the resolution drives the order in the same outcome
(EX-3, D-1, D-13): a corrected address or price, a refund, a closing, a reship, a new ETA, a
claim on the carrier. Every resolution but the restock wait releases the hold its case
caused, once no other open case holds the order; one that closes the order resolves its
other open cases with it."""

from __future__ import annotations

from orderflow.aftersales.money import allocate, standing, units_amount
from orderflow.effects import (
    AlertStaff,
    Effect,
    NotifyCustomer,
    RefundReason,
    ReserveStock,
)
from orderflow.errors import InvalidInput
from orderflow.frozen import replace
from orderflow.incidents.case import ExceptionCase, ExceptionState
from orderflow.incidents.commands import (
    ResolveException,
)
from orderflow.incidents.committing import CaseCommitter, exception_of
from orderflow.incidents.model import ExceptionType, Resolution
from orderflow.incidents.transition import ExceptionTransition
from orderflow.ledger import LineShare
from orderflow.lifecycle.appliers import close_order
from orderflow.lines import quantity_of
from orderflow.model import CloseReason
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = ["CLOSING", "Resolving", "missing_units", "nothing_ships"]

R = Resolution
CLOSING = {
    R.REFUND_AND_CLOSE: CloseReason.PRICE_ERROR,
    R.CLOSE_DUPLICATE: CloseReason.DUPLICATE_ORDER,
    R.CLOSE_AS_FRAUD: CloseReason.SUSPECTED_FRAUD,
}
"""The resolutions that close the order, and the reason they close it with (D-1)."""


_CARRIER_FAULTS = frozenset({ExceptionType.LOGISTICS_LOST, ExceptionType.LOGISTICS_DAMAGED})
_SETTLING = frozenset({R.RESHIP, R.REFUND, R.COMPENSATE})
"""Resolutions that settle a lost or damaged parcel with the customer: the carrier owes it."""


def missing_units(case: ExceptionCase) -> tuple[str, int] | None:
    """For an out-of-stock case, the SKU and how many units are missing (from its
    evidence: ordered less available); ``None`` when the evidence does not say."""
    evidence = case.evidence
    sku, ordered, available = (
        evidence.get("sku"),
        evidence.get("ordered"),
        evidence.get("available"),
    )
    if not isinstance(sku, str) or not isinstance(ordered, int) or not isinstance(available, int):
        return None
    if isinstance(ordered, bool) or isinstance(available, bool) or ordered <= available:
        return None
    return sku, ordered - max(available, 0)


class Resolving(CaseCommitter):
    """The appliers that resolve a case (EX-3)."""

    def resolve(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Resolve with a resolution of the playbook; the order follows in the same outcome
        (EX-3); the hold is released once no other open case holds the order."""
        command = step.command
        assert isinstance(command, ResolveException)
        case = exception_of(step)
        resolution = command.resolution
        order = step.order
        if resolution is R.WAIT_FOR_RESTOCK:
            waiting = replace(case, resolution=resolution, note=command.note,
                              restock_eta=command.eta)  # fmt: skip
            return self.commit(step, waiting)
        resolved = replace(
            case,
            state=ExceptionState.RESOLVED,
            resolution=resolution,
            note=command.note,
            resolved_at=step.at,
            restock_eta=None,
            eta=command.eta if resolution is R.NEW_ETA else case.eta,
        )
        closing = CLOSING.get(resolution)
        if resolution is R.REFUND_AND_CLOSE and case.type is not ExceptionType.PRICE_ERROR:
            closing = CloseReason.OTHER  # a payment failure closed: the note says why
        if closing is None and resolution is R.REFUND and nothing_ships(order, case):
            closing = CloseReason.OUT_OF_STOCK
        if closing is not None:
            cases = tuple(resolved if item is case else item for item in order.exceptions)
            raised = (ExceptionTransition(case.case_id, case.state, ExceptionState.RESOLVED),)
            return close_order(step, closing, command.note, exceptions=cases, raised=raised)
        effects: list[Effect] = []
        claim = case.type in _CARRIER_FAULTS and resolution in _SETTLING
        if resolution is R.REFUND:
            return self._refund(step, case, resolved, command.note, claim=claim)
        if resolution is R.NEW_ETA and command.eta is not None:
            effects.append(
                self._tell(step, 0, f"Your parcel is delayed; it is now expected by "
                           f"{command.eta.isoformat()}.", eta=command.eta.isoformat())
            )  # fmt: skip
        elif resolution is R.RESHIP:
            effects.append(ReserveStock(order.id, step.version, 0, order.lines))
        elif resolution is R.PAY_DIFFERENCE:
            effects.append(self._difference(step, case, command.note))
        if claim:
            effects.append(self._claim(step, len(effects), case))
        address = command.address if resolution is R.CORRECT_INFO else None
        if resolution is R.CORRECT_PRICE:
            return self._correct_price(step, resolved, command)
        return self.commit(step, resolved, effects, release=True, address=address)

    def _correct_price(
        self, step: Step, resolved: ExceptionCase, command: ResolveException
    ) -> tuple[Order, HistoryEntry]:
        """LC-5, EX-3: the line's unit price and what is due change with the resolution, as
        ``ChangePrice`` changes them (a discount in the line's ``paid`` gives way)."""
        order = step.order
        assert command.unit_price is not None
        lines = tuple(
            replace(line, unit_price=command.unit_price, paid=None)
            if line.sku == command.sku
            else line
            for line in order.lines
        )
        ledger = replace(
            order.ledger, amount_due=Money.sum((line.paid_total for line in lines), order.currency)
        )
        return self.commit(step, resolved, release=True, ledger=ledger, lines=lines)

    def _difference(self, step: Step, case: ExceptionCase, note: str) -> NotifyCustomer:
        """EX-3, D-3: the customer is told the price difference to pay, from the case's
        evidence (list price less unit price, times the line's units) when it names both;
        the host collects it as a payment of its own, since a second payment on a paid order
        is never added to what was paid (D-3)."""
        order = step.order
        evidence = case.evidence
        listed, unit, sku = (
            evidence.get("list_price"),
            evidence.get("unit_price"),
            evidence.get("sku"),
        )
        units = quantity_of(order.lines, sku if isinstance(sku, str) else None)
        if (
            isinstance(listed, Money)
            and isinstance(unit, Money)
            and listed.currency == unit.currency == order.currency
            and listed > unit
            and units
        ):
            try:
                due = (listed - unit) * units
            except InvalidInput:  # a list price out of all proportion: say it without a sum
                pass
            else:
                return self._tell(step, 0, f"A price difference of {due} is due: {note}",
                                  amount=str(due), sku=str(sku))  # fmt: skip
        return self._tell(step, 0, f"A price difference is due: {note}")

    def _claim(self, step: Step, seq: int, case: ExceptionCase) -> AlertStaff:
        """EX-3: a lost or damaged parcel settled with the customer is claimed from the
        carrier: staff are told to file the claim."""
        shipment = step.order.shipment
        parcel = "" if shipment is None else f" ({shipment.carrier} {shipment.tracking_number})"
        return self._alert(step, seq, case, "carrier_claim",
                           f"File a claim with the carrier for the parcel{parcel}.")  # fmt: skip

    def _refund(
        self,
        step: Step,
        case: ExceptionCase,
        resolved: ExceptionCase,
        note: str,
        *,
        claim: bool = False,
    ) -> tuple[Order, HistoryEntry]:
        """Refund what cannot be delivered: an out-of-stock case's missing units (D-11), or
        what may still be refunded of a parcel lost, damaged or held (AS-7); a lost or
        damaged parcel's claim on the carrier is handed to staff with it."""
        order = step.order
        now = standing(order)
        shares: tuple[LineShare, ...]
        missing = missing_units(case) if case.type is ExceptionType.OUT_OF_STOCK else None
        if missing is not None:
            sku, units = missing
            line = now.line(sku)
            assert line is not None
            amount = min(units_amount(line.paid, line.quantity, line.quantity - units, units),
                         line.room, now.room)  # fmt: skip
            shares = (LineShare(sku, amount),)
        else:
            amount = now.room
            parts = allocate(amount, [line.room for line in now.lines])
            shares = tuple(
                LineShare(line.sku, part)
                for line, part in zip(now.lines, parts, strict=True)
                if part.is_positive()
            )
        effects: list[Effect] = []
        ledger = order.ledger
        if amount.is_positive():
            refund, ledger = request_refund(
                step,
                0,
                amount,
                RefundReason.EXCEPTION,
                paying_reference(ledger),
                counts=True,
                ledger=ledger,
                shares=shares,
            )
            effects.append(refund)
            effects.append(
                self._tell(step, 1, f"A refund of {amount} is on its way: {note}",
                           refund_id=refund.refund_id, amount=str(amount))
            )  # fmt: skip
        if claim:
            effects.append(self._claim(step, len(effects), case))
        return self.commit(step, resolved, effects, release=True, ledger=ledger)


def nothing_ships(order: Order, case: ExceptionCase) -> bool:
    """Whether an out-of-stock refund leaves nothing of the order to ship: the case's
    missing units are all the order's units (a one-line order out of stock entirely)."""
    if case.type is not ExceptionType.OUT_OF_STOCK:
        return False
    missing = missing_units(case)
    if missing is None:
        return False
    sku, units = missing
    return all(line.sku == sku and line.quantity <= units for line in order.lines)
