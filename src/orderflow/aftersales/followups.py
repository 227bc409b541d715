"""After-sales commands that follow a decision: goods shipped back, received, lost or
replaced; the timers of a case; and the after-sales commands on the order itself (a money-only
refund, a return window closing).

Like every command they validate what their payload alone decides when they are built
(:class:`~orderflow.errors.InvalidInput`): a receipt without lines, a deduction without a
justification. What depends on the order is judged when the command meets it.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from orderflow.aftersales.commands import (
    ApproveCase,
    AskForReview,
    CaseCommand,
    DecideReview,
    OverrideDenial,
    RejectCase,
    RequestAfterSales,
    ShareRequest,
    Units,
    _positive,
    _shares,
    _units,
)
from orderflow.aftersales.model import ReturnCondition
from orderflow.commands import (
    Command,
    _flag,
    _note,
    _optional_id,
    _positive_money,
    _required_note,
    _shipping_text,
)
from orderflow.errors import InvalidInput
from orderflow.inputs import instance_of
from orderflow.money import Money

__all__ = [
    "CASE_COMMAND_TYPES",
    "CloseCase",
    "CloseReturnWindow",
    "ExpireCase",
    "ReceiveOverdueReturn",
    "ReceiveReturn",
    "RefundMoneyOnly",
    "RemindStaff",
    "ReportReturnLost",
    "RespondForSeller",
    "ShipBack",
    "ShipReplacement",
]


@attrs.frozen
class ShipBack(CaseCommand):
    """The buyer ships the goods back: carrier and tracking number (and what the shipping
    cost, when the seller pays it back).

    Attributes:
        carrier: the carrier.
        tracking_number: the return's tracking number.
        shipping_cost: what the buyer paid to ship it back; refunded on receipt on its own,
            outside the goods cap, when the seller pays the return shipping.
    """

    event: ClassVar[str] = "ship_back"
    carrier: str = attrs.field(validator=_shipping_text)
    tracking_number: str = attrs.field(validator=_shipping_text)
    shipping_cost: Money | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.shipping_cost is not None:
            _positive("shipping_cost", self.shipping_cost)


@attrs.frozen
class ReceiveReturn(CaseCommand):
    """Staff receive the goods back: units per line, and their condition (D-7: a return
    refunds what was received).

    Attributes:
        lines: the units received, line by line.
        condition: as sold, damaged by the buyer, or a wrong item.
        deduction: for goods damaged by the buyer, what is deducted from the refund.
        justification: why the deduction (required with one).
    """

    event: ClassVar[str] = "receive_return"
    lines: tuple[Units, ...] = attrs.field(converter=_units)
    condition: ReturnCondition = attrs.field(
        default=ReturnCondition.AS_SOLD, validator=instance_of(ReturnCondition)
    )
    deduction: Money | None = attrs.field(default=None)
    justification: str = attrs.field(default="", validator=_note)

    def __attrs_post_init__(self) -> None:
        if not self.lines:
            raise InvalidInput("lines", (), "a receipt names the units received")
        damaged = self.condition is ReturnCondition.DAMAGED_BY_BUYER
        if damaged != (self.deduction is not None):
            raise InvalidInput(
                "deduction", self.deduction, "goes with goods damaged by the buyer, and only then"
            )
        if self.deduction is not None:
            _positive("deduction", self.deduction)
            if not self.justification.strip():
                raise InvalidInput("justification", "", "a deduction needs a justification")


@attrs.frozen
class ReportReturnLost(CaseCommand):
    """The carrier lost the buyer's return: an agent decides on its tracking (D-7).

    Attributes:
        refund: whether the approved units are refunded as if received; if not, the case
            ends rejected with the note as its reason.
        note: the decision's reason (required).
    """

    event: ClassVar[str] = "report_return_lost"
    refund: bool = attrs.field(validator=_flag)
    note: str = attrs.field(validator=_required_note)

    @property
    def reason_text(self) -> str | None:
        """The note."""
        return self.note


@attrs.frozen
class ShipReplacement(CaseCommand):
    """The replacement of an exchange ships (carrier and tracking number)."""

    event: ClassVar[str] = "ship_replacement"
    carrier: str = attrs.field(validator=_shipping_text)
    tracking_number: str = attrs.field(validator=_shipping_text)


@attrs.frozen
class RespondForSeller(CaseCommand):
    """The seller did not answer in time: the system takes the shop's action (approve by
    default)."""

    event: ClassVar[str] = "respond_for_seller"


@attrs.frozen
class ExpireCase(CaseCommand):
    """A case waited past its time: the buyer never shipped back, or a rejection was not
    reviewed. The system closes it."""

    event: ClassVar[str] = "expire_case"


@attrs.frozen
class ReceiveOverdueReturn(CaseCommand):
    """The seller did not confirm the return's receipt in time: the system receives the
    approved units as sold and the refund starts by itself."""

    event: ClassVar[str] = "receive_overdue_return"


@attrs.frozen
class CloseCase(CaseCommand):
    """Staff end a case whose declined refund cannot be retried (its room was taken since):
    the case closes with the note, and its units are free again (AS-6).

    Attributes:
        note: why (required).
    """

    event: ClassVar[str] = "close_case"
    note: str = attrs.field(validator=_required_note)

    @property
    def reason_text(self) -> str | None:
        """The note."""
        return self.note


@attrs.frozen
class RemindStaff(CaseCommand):
    """A case has waited on staff for the shop's reminder period (a review, a replacement to
    ship, a refund the payment side has not answered): the system alerts staff and sets the
    next reminder."""

    event: ClassVar[str] = "remind_staff"


def _window(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value not in ("no_reason", "quality"):
        raise InvalidInput("window", value, "must be 'no_reason' or 'quality'")


@attrs.frozen
class CloseReturnWindow(Command):
    """A return window closed (TM-6): the system records it and drops its deadline.

    Attributes:
        window: ``"no_reason"`` (AS-2) or ``"quality"`` (AS-3).
    """

    event: ClassVar[str] = "close_return_window"
    window: str = attrs.field(validator=_window)


@attrs.frozen
class RefundMoneyOnly(Command):
    """Staff refund money on an open, unshipped order (AS-7: part of a line out of stock,
    a price difference, an amount agreed with the buyer). Over the cap it is refused and the
    refusal names what may still be refunded; nothing is ever clamped (D-6).

    Attributes:
        amount: how much (positive).
        shares: how much of it each line gets; spread over the lines by what each may still
            be refunded when empty (D-11). They add up to ``amount`` when given.
        note: why (required).
        refund_id: the refund's id (``<order id>/refund/<n>`` when not given).
    """

    event: ClassVar[str] = "refund_money_only"
    amount: Money = attrs.field(validator=_positive_money)
    note: str = attrs.field(validator=_required_note)
    shares: tuple[ShareRequest, ...] = attrs.field(default=(), converter=_shares)
    refund_id: str | None = attrs.field(default=None, validator=_optional_id)

    def __attrs_post_init__(self) -> None:
        if self.shares:
            currency = self.amount.currency
            if any(share.amount.currency != currency for share in self.shares):
                raise InvalidInput("shares", "", "must be in the amount's currency")
            total = Money.sum((share.amount for share in self.shares), currency)
            if total != self.amount:
                raise InvalidInput("shares", str(total), f"must add up to {self.amount}")

    @property
    def reason_text(self) -> str | None:
        """The note."""
        return self.note


CASE_COMMAND_TYPES: tuple[type[Command], ...] = (
    RequestAfterSales,
    ApproveCase,
    RejectCase,
    AskForReview,
    DecideReview,
    OverrideDenial,
    ShipBack,
    ReceiveReturn,
    ReportReturnLost,
    ShipReplacement,
    RespondForSeller,
    ExpireCase,
    ReceiveOverdueReturn,
    CloseCase,
    RemindStaff,
    CloseReturnWindow,
    RefundMoneyOnly,
)
"""Every after-sales command class, registered explicitly (serialization, docs)."""
