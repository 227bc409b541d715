"""The order's money: payments received, refunds owed, and the ledger that adds them up
(AS-5, AS-6, D-6).

A refund counts against what was paid while it is pending and once it is confirmed. A refund
the payment side declined frees its room until it is retried, and a retry checks the cap again
(D-6); a failure whose outcome is unknown (a timeout) keeps its room, since the provider may
still pay it (D-17). A refund
of after-sales goods says which lines it pays back (:class:`LineShare`), so that no line is
ever refunded above what the buyer paid for it.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from orderflow.effects import RefundReason
from orderflow.model import OrderLine
from orderflow.money import Money

__all__ = ["Ledger", "LineShare", "Payment", "Refund", "RefundStatus"]


@attrs.frozen
class Payment:
    """A payment received for the order.

    Attributes:
        reference: the payment provider's reference.
        amount: what was received.
        at: when it was recorded.
        applied: whether it counts towards what was paid; a duplicate or late payment is
            recorded but never applied (D-3, D-10).
    """

    reference: str
    amount: Money
    at: datetime
    applied: bool = True


class RefundStatus(enum.StrEnum):
    """Where a refund stands (AS-6)."""

    PENDING = "pending"
    REFUNDED = "refunded"
    FAILED = "failed"


@attrs.frozen
class LineShare:
    """The part of a refund that pays back one line (AS-5: a line is never refunded above
    what was paid for it).

    Attributes:
        sku: the line.
        amount: how much of the refund is for it.
        units: how many of its units the refund pays back (0 for an amount agreed without
            units, D-11).
    """

    sku: str
    amount: Money
    units: int = 0


@attrs.frozen
class Refund:
    """Money the order owes back, from request to confirmation (AS-6).

    Attributes:
        refund_id: stable id, also the payment provider's idempotency key (with the attempt).
        amount: how much.
        reason: why.
        payment_reference: the payment it is refunded against.
        status: pending, refunded or failed.
        requested_at: when it was first requested.
        attempts: how many times it was requested.
        counts_against_paid: whether it reduces what the order has been paid; refunds of
            payments that were never applied (duplicates, late payments) do not.
        last_error: the payment side's last error, while failed.
        key_attempt: the attempt whose idempotency key the next request uses (D-17).
        declined: whether the last failure was a known decline (a retry then takes a new
            idempotency key) rather than an unknown outcome (the key is reused).
        case_id: the after-sales case it pays back, if any.
        shares: how it splits over the order's lines; empty for a refund of the order as a
            whole (a closed order's, an overpayment, a payment never applied).
    """

    refund_id: str
    amount: Money
    reason: RefundReason
    payment_reference: str
    status: RefundStatus
    requested_at: datetime
    attempts: int = 1
    counts_against_paid: bool = True
    last_error: str = ""
    key_attempt: int = 1
    declined: bool = False
    case_id: str | None = None
    shares: tuple[LineShare, ...] = ()

    @property
    def holds_room(self) -> bool:
        """Whether it counts against the caps now: pending, confirmed, or failed with an
        unknown outcome (the provider may still pay it, D-17), against what was paid. A
        declined refund frees its room until it is retried (D-6)."""
        return self.counts_against_paid and not (
            self.status is RefundStatus.FAILED and self.declined
        )

    @property
    def in_flight(self) -> bool:
        """Whether it holds room without being confirmed: pending, or failed with an unknown
        outcome. These make up :attr:`Ledger.amount_refund_pending`."""
        return self.holds_room and self.status is not RefundStatus.REFUNDED

    @property
    def unsettled(self) -> bool:
        """Whether money may still move for it: pending, or failed with an unknown outcome,
        whether or not it counts against what was paid (a return's shipping does not)."""
        return self.status is RefundStatus.PENDING or (
            self.status is RefundStatus.FAILED and not self.declined
        )

    @property
    def idempotency_key(self) -> str:
        """The key the payment provider gets for this refund's current request (D-17)."""
        return f"{self.refund_id}#{self.key_attempt}"


@attrs.frozen
class Ledger:
    """The order's money: what is due, paid and refunded (AS-5, D-6).

    Attributes:
        amount_due: what the buyer pays for the lines (their paid totals, after line
            discounts).
        amount_paid: the sum of applied payments.
        amount_refunded: confirmed refunds that count against what was paid.
        amount_refund_pending: refunds requested and not yet confirmed that count against
            what was paid (:attr:`Refund.in_flight`): pending, or failed with an unknown
            outcome. They count against the cap (D-6); a declined refund does not, until it
            is retried.
        overpayment: the part of what was paid above what was due, refunded at once.
        payments: every payment received, applied or not.
        refunds: every refund requested.
        payment_in_progress: the reference of a payment the buyer has started (D-10).
        payment_started_at: when that payment was started (D-16), while it is in progress.
    """

    amount_due: Money
    amount_paid: Money
    amount_refunded: Money
    amount_refund_pending: Money
    overpayment: Money
    payments: tuple[Payment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    payment_in_progress: str | None = None
    payment_started_at: datetime | None = None

    @classmethod
    def for_lines(cls, lines: tuple[OrderLine, ...]) -> Ledger:
        """A fresh ledger owing what the buyer pays for ``lines`` (their paid totals)."""
        currency = lines[0].unit_price.currency
        zero = Money.zero(currency)
        due = lines[0].paid_total
        for line in lines[1:]:
            due = due + line.paid_total
        return cls(due, zero, zero, zero, zero)

    @property
    def refundable(self) -> Money:
        """What may still be refunded: paid, less refunded and pending (D-6)."""
        return self.amount_paid - self.amount_refunded - self.amount_refund_pending

    def refund(self, refund_id: str) -> Refund | None:
        """The refund with this id, if there is one."""
        for refund in self.refunds:
            if refund.refund_id == refund_id:
                return refund
        return None

    def payment(self, reference: str) -> Payment | None:
        """The payment with this reference, if there is one."""
        for payment in self.payments:
            if payment.reference == reference:
                return payment
        return None
