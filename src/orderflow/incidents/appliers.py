"""The appliers of the exception case machine: what each command does to the case and to the
order, in one outcome (EX-3..EX-7, D-13, TM-7).

Resolving a case drives the order: a corrected address, a refund, a closing, a new ETA. Every
resolution but the restock wait releases the hold its case caused, once no other open case
holds the order; a resolution that closes the order resolves its other open cases with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from orderflow.aftersales.money import allocate, standing, units_amount
from orderflow.effects import (
    AlertStaff,
    Effect,
    NotificationTopic,
    NotifyCustomer,
    RefundReason,
    ReserveStock,
)
from orderflow.frozen import replace
from orderflow.incidents.case import ExceptionCase, ExceptionState, Origin
from orderflow.incidents.commands import (
    AcknowledgeException,
    CloseException,
    EscalateException,
    ExceptionCommand,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
    ResolveException,
)
from orderflow.incidents.configuration import IncidentSettings
from orderflow.incidents.escalation import escalation_target
from orderflow.incidents.matrix import Routing
from orderflow.incidents.model import Evidence, ExceptionType, Level, Resolution, Role
from orderflow.incidents.opening import case_deadline, open_case, still_held
from orderflow.incidents.transition import ExceptionTransition
from orderflow.ledger import Ledger, LineShare
from orderflow.lifecycle.appliers import close_order
from orderflow.model import Address, CloseReason, OrderLine, OrderState
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order
from orderflow.records import HoldRecord
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = ["CLOSING", "ExceptionAppliers", "exception_of", "missing_units", "nothing_ships"]

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


def exception_of(step: Step) -> ExceptionCase:
    """The case an exception command names (the engine found it)."""
    command = step.command
    assert isinstance(command, ExceptionCommand)
    case = step.order.exception(command.case_id)
    assert case is not None
    return case


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


def _stated_shortage(order: Order, command: OpenException) -> Evidence | None:
    """The evidence of an out-of-stock case an agent opens naming the short line: what the
    classifier would have recorded (ordered and available units of the SKU)."""
    if command.sku is None or command.missing is None:
        return None
    ordered = sum(line.quantity for line in order.lines if line.sku == command.sku)
    return {
        "field": "lines",
        "sku": command.sku,
        "ordered": ordered,
        "available": ordered - command.missing,
    }


class ExceptionAppliers:
    """The appliers of the exception case machine.

    Args:
        settings: the shop's exception handling: targets, matrix, compensation limit.
    """

    def __init__(self, settings: IncidentSettings) -> None:
        self.settings = settings

    # -- committing --------------------------------------------------------------------------

    def commit(
        self,
        step: Step,
        case: ExceptionCase,
        effects: Iterable[Effect] = (),
        *,
        rule: str = "",
        release: bool = False,
        address: Address | None = None,
        ledger: Ledger | None = None,
        lines: tuple[OrderLine, ...] | None = None,
    ) -> tuple[Order, HistoryEntry]:
        """The order with ``case`` in its new state and timer, one history entry recording
        the move, and, with ``release``, the order released when ``case`` is one that held
        it and no other open case holds it (LC-6: back to the state it was held from; a hold
        the case did not cause, such as staff's own, stays)."""
        order = step.order
        old = order.exception(case.case_id)
        source = ExceptionState.NEW if old is None else old.state
        case = replace(case, deadline=case_deadline(case, step.at, self.settings))
        if old is None:
            cases = (*order.exceptions, case)
        else:
            cases = tuple(case if item is old else item for item in order.exceptions)
        raised = (ExceptionTransition(case.case_id, source, case.state, rule),)
        hold = order.hold
        if release and case.holds and hold is not None and not still_held(cases):
            return step.commit(
                tuple(effects),
                exceptions=cases,
                raised=raised,
                state=hold.from_state,
                hold=None,
                address=address,
                ledger=ledger,
                lines=lines,
            )
        return step.commit(
            tuple(effects),
            exceptions=cases,
            raised=raised,
            address=address,
            ledger=ledger,
            lines=lines,
        )

    def _alert(
        self, step: Step, seq: int, case: ExceptionCase, topic: str, message: str
    ) -> AlertStaff:
        return AlertStaff(step.order.id, step.version, seq, case.case_id, topic, message)

    def _tell(self, step: Step, seq: int, message: str, **details: str) -> NotifyCustomer:
        order = step.order
        return NotifyCustomer(
            order.id,
            step.version,
            seq,
            order.customer_id,
            NotificationTopic.EXCEPTION,
            message,
            details,
        )

    # -- opening, acknowledging, escalating ------------------------------------------------

    def open(self, step: Step) -> tuple[Order, HistoryEntry]:
        """An agent opens a case by hand, holding the order if asked (before shipment)."""
        command = step.command
        assert isinstance(command, OpenException)
        order = step.order
        case = open_case(
            order,
            command.exception_type,
            step.at,
            self.settings,
            origin=Origin.AGENT,
            summary=command.summary,
            priority=command.priority,
            holds=command.hold,
            major=command.major,
            case_id=command.case_id,
            vip=step.context.vip if step.context is not None else False,
            orders_affected=command.orders_affected,
            evidence=_stated_shortage(order, command),
        )
        alert = self._alert(step, 0, case, "exception_opened", command.summary)
        if command.hold and order.state is not OrderState.ON_HOLD:
            case = replace(case, deadline=case_deadline(case, step.at, self.settings))
            raised = (ExceptionTransition(case.case_id, ExceptionState.NEW, case.state),)
            record = HoldRecord(order.state, command.summary, step.at, case.case_id)
            return step.commit(
                (alert,),
                exceptions=(*order.exceptions, case),
                raised=raised,
                state=OrderState.ON_HOLD,
                hold=record,
            )
        return self.commit(step, case, (alert,))

    def acknowledge(self, step: Step) -> tuple[Order, HistoryEntry]:
        """An agent takes the case: its response target is met (EX-5)."""
        command = step.command
        assert isinstance(command, AcknowledgeException)
        case = replace(
            exception_of(step), state=ExceptionState.ACKNOWLEDGED, acknowledged_at=step.at
        )
        return self.commit(step, case)

    def escalate(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Escalate to the level named, or one level up (EX-4)."""
        command = step.command
        assert isinstance(command, EscalateException)
        case = exception_of(step)
        if case.level is None and command.level is None:
            routing = self.first_level(step, case)
            return self.commit(step, self._escalated(case, routing.level, command.note,
                                                     routing.role))  # fmt: skip
        level = escalation_target(case.level, command.level)
        assert level is not None
        return self.commit(step, self._escalated(case, level, command.note))

    def _escalated(
        self, case: ExceptionCase, level: Level | None, note: str, role: Role | None = None
    ) -> ExceptionCase:
        assert level is not None
        return replace(
            case,
            state=ExceptionState.ESCALATED,
            level=level,
            role=role or self.settings.matrix.role_for(level),
            escalations=case.escalations + 1,
            note=note,
        )

    def first_level(self, step: Step, case: ExceptionCase, *, overdue: bool = False) -> Routing:
        """Where a case goes when escalated without a level named and it has none yet: the
        matrix's row for its type and the order's facts, or level 3 with its default role.
        ``overdue``: the escalation comes from a missed target (EX-4: level 3)."""
        facts = self.settings.facts(
            step.order.amount_due,
            vip=step.context.vip if step.context is not None else False,
            orders_affected=case.orders_affected,
            major_complaint=case.major,
            overdue=overdue or case.targets_missed > 0,
        )
        routed = self.settings.route(case.type, facts)
        if routed.level is None:
            return Routing(Level.LEVEL_3, self.settings.matrix.role_for(Level.LEVEL_3))
        return routed

    def miss_target(self, step: Step) -> tuple[Order, HistoryEntry]:
        """A target passed (TM-7): an open case escalates by itself (one level up, or to
        the matrix's level); at the top, staff are alerted; a resolved case closes; a
        closed case without its follow-up reminds staff once."""
        case = exception_of(step)
        missed = replace(case, targets_missed=case.targets_missed + 1)
        if case.state is ExceptionState.CLOSED:
            alert = self._alert(step, 0, case, "follow_up", "A closed case needs its follow-up.")
            reminded = replace(missed, follow_up_reminded=True)
            return self.commit(step, reminded, (alert,), rule="TM-7")
        if case.state is ExceptionState.RESOLVED:
            closed = replace(missed, state=ExceptionState.CLOSED, closed_at=step.at)
            return self.commit(step, closed, rule="TM-7")
        alert = self._alert(
            step, 0, case, "target_missed", f"An exception case ({case.type}) missed its target."
        )
        if case.level is None:
            routing = self.first_level(step, case, overdue=True)
            escalated = self._escalated(missed, routing.level, "missed its target", routing.role)
            return self.commit(step, escalated, (alert,), rule="TM-7")
        level = escalation_target(case.level, None)
        if level is None:  # at level 1, or external: nothing higher; staff are told again
            return self.commit(step, replace(missed, state=ExceptionState.ESCALATED), (alert,),
                               rule="TM-7")  # fmt: skip
        escalated = self._escalated(missed, level, "missed its target")
        return self.commit(step, escalated, (alert,), rule="TM-7")

    # -- resolving and closing ---------------------------------------------------------------

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

    def check_restock(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The restock ETA came: with stock for the missing units now (the context the
        service gathered; a SKU without stock data counts as in stock), the case is
        resolved and the order released; else it escalates and waits for its solution
        target again (EX-3)."""
        case = exception_of(step)
        missing = missing_units(case)
        context = step.context
        in_stock = True
        if missing is not None and context is not None:
            sku, _ = missing
            ordered = next((line.quantity for line in step.order.lines if line.sku == sku), 0)
            available = context.stock.get(sku)
            in_stock = available is None or available >= ordered
        if in_stock:
            resolved = replace(
                case,
                state=ExceptionState.RESOLVED,
                resolution=R.RESTOCKED,
                resolved_at=step.at,
                restock_eta=None,
            )
            return self.commit(step, resolved, release=True, rule="restock")
        waiting = replace(case, restock_eta=None, state=ExceptionState.ESCALATED)
        if case.level is None:
            routing = self.first_level(step, case, overdue=True)
            waiting = self._escalated(waiting, routing.level, "still out of stock at the ETA",
                                      routing.role)  # fmt: skip
        else:
            level = escalation_target(case.level, None)
            if level is not None:
                waiting = self._escalated(waiting, level, "still out of stock at the ETA")
        alert = self._alert(step, 0, case, "restock_missed", "Still out of stock at the ETA.")
        return self.commit(step, waiting, (alert,), rule="restock")

    def compensate(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Record a compensation with the case, with its approver (EX-7)."""
        command = step.command
        assert isinstance(command, RecordCompensation)
        case = exception_of(step)
        recorded = replace(case, compensations=(*case.compensations, command.compensation))
        return self.commit(step, recorded)

    def close(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Close a resolved case: the follow-up with the customer is due (EX-5)."""
        command = step.command
        assert isinstance(command, CloseException)
        case = replace(exception_of(step), state=ExceptionState.CLOSED, closed_at=step.at)
        return self.commit(step, case)

    def follow_up(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The follow-up after closing is recorded (EX-5)."""
        command = step.command
        assert isinstance(command, RecordFollowUp)
        case = replace(exception_of(step), followed_up=True, note=command.note)
        return self.commit(step, case)


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
