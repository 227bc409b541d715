"""The commands of order exceptions: opening, acknowledging, escalating, resolving and closing
a case (EX-3..EX-7); recording a carrier's tracking event; and the service-level timers that
open or escalate cases by themselves (TM-2, TM-3, TM-4, TM-7).

Like every command they validate what their payload alone decides when they are built
(:class:`~orderflow.errors.InvalidInput`); what depends on the order (the case's state, the
playbook, the order's state) is judged when the command meets it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, cast

import attrs

from orderflow.commands import (
    Command,
    _flag,
    _identifier,
    _note,
    _optional_id,
    _price,
    _required_note,
)
from orderflow.errors import InvalidInput
from orderflow.incidents.compensation import Compensation
from orderflow.incidents.model import ExceptionType, Level, Priority, Resolution
from orderflow.incidents.tracking import TrackingEvent
from orderflow.inputs import check_time, in_utc, instance_of
from orderflow.model import Address
from orderflow.money import Money

__all__ = [
    "EXCEPTION_COMMAND_TYPES",
    "AcknowledgeException",
    "CheckRestock",
    "CloseException",
    "EscalateException",
    "ExceptionCommand",
    "FlagReviewOverdue",
    "FlagShipmentOverdue",
    "FlagTrackingSilence",
    "MissExceptionTarget",
    "OpenException",
    "RecordCompensation",
    "RecordFollowUp",
    "RecordTracking",
    "ResolveException",
]


def _optional_time(
    instance: object, attribute: attrs.Attribute[datetime | None], value: object
) -> None:
    if value is not None:
        check_time(attribute.name, value)


@attrs.frozen
class OpenException(Command):
    """An agent opens an exception case by hand (EX-2: 客服反馈收集).

    Attributes:
        exception_type: what is wrong (EX-1); given as ``type`` when building the command,
            and read as :attr:`type` too. (A command's document names its class under
            ``type``, so the field has another name there.)
        summary: what the agent saw (required).
        priority: how fast it must be answered; it sets the response target (EX-5).
        major: the complaint is major (EX-4: a VIP's major complaint is level 1).
        hold: hold the order until the case is resolved (only before shipment).
        orders_affected: how many orders the same problem affects (a batch or system
            failure affects many: EX-4 level 1).
        case_id: the case's id (``<order id>/exception/<n>`` when not given).
        sku: for an out-of-stock case, the line that is short (with ``missing``), so that
            the case can be resolved by refunding the missing units as one the review
            found can.
        missing: how many units of ``sku`` cannot be supplied (at most the line's
            quantity, checked when handled).

    Raises:
        InvalidInput: a blank summary; ``sku`` without ``missing`` or the reverse, or
            either on a case that is not out of stock; ``missing`` not a whole number from 1.
    """

    event: ClassVar[str] = "open_exception"
    exception_type: ExceptionType = attrs.field(alias="type", validator=instance_of(ExceptionType))
    summary: str = attrs.field(validator=_required_note)
    priority: Priority = attrs.field(default=Priority.NORMAL, validator=instance_of(Priority))
    major: bool = attrs.field(default=False, validator=_flag)
    hold: bool = attrs.field(default=False, validator=_flag)
    case_id: str | None = attrs.field(default=None, validator=_optional_id)
    orders_affected: int = attrs.field(default=1)
    sku: str | None = attrs.field(default=None, validator=_optional_id)
    missing: int | None = attrs.field(default=None)

    @missing.validator
    def _missing(self, attribute: attrs.Attribute[int | None], value: object) -> None:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**6
        ):
            raise InvalidInput("missing", value, "must be a whole number from 1")
        if (value is None) != (self.sku is None):
            raise InvalidInput("missing", value, "an out-of-stock case names sku and missing")
        if value is not None and self.exception_type is not ExceptionType.OUT_OF_STOCK:
            raise InvalidInput("sku", self.sku, "only an out-of-stock case names its units")

    @orders_affected.validator
    def _count(self, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**9:
            raise InvalidInput("orders_affected", value, "must be a whole number from 1")

    @property
    def type(self) -> ExceptionType:
        """What is wrong (EX-1)."""
        return self.exception_type

    @property
    def reason_text(self) -> str | None:
        """The agent's summary."""
        return self.summary


@attrs.frozen
class ExceptionCommand(Command):
    """Base of the commands on an existing exception case.

    Attributes:
        case_id: the case.
    """

    event: ClassVar[str] = "exception_command"
    case_id: str = attrs.field(validator=_identifier)


@attrs.frozen
class AcknowledgeException(ExceptionCommand):
    """An agent takes the case: the response target is met (EX-5)."""

    event: ClassVar[str] = "acknowledge_exception"
    note: str = attrs.field(default="", validator=_note)


@attrs.frozen
class EscalateException(ExceptionCommand):
    """Escalate the case (EX-4): to the level named, or one level up (3 -> 2 -> 1; a case
    never escalated goes to the level the matrix gives it).

    Attributes:
        level: the level, or ``None`` for one level up.
        note: why (required).
    """

    event: ClassVar[str] = "escalate_exception"
    note: str = attrs.field(validator=_required_note)
    level: Level | None = attrs.field(default=None, validator=instance_of(Level, optional=True))

    @property
    def reason_text(self) -> str | None:
        """The note."""
        return self.note


@attrs.frozen
class ResolveException(ExceptionCommand):
    """Resolve the case with one resolution of its type's playbook (EX-3); the resolution
    drives the order in the same outcome.

    Attributes:
        resolution: the resolution.
        note: why (required).
        address: the corrected address and contact (``correct_info``).
        eta: when stock is expected (``wait_for_restock``: a step, the case stays open) or
            the new delivery estimate (``new_eta``).
        sku: the line whose price is corrected (``correct_price``).
        unit_price: its corrected unit price (``correct_price``): the line and what is due
            change in the same outcome, as ``ChangePrice`` would change them.

    Raises:
        InvalidInput: a blank note; ``correct_info`` without an address; a restock wait or
            a new ETA without ``eta``; ``correct_price`` without ``sku`` and
            ``unit_price``, or either with another resolution.
    """

    event: ClassVar[str] = "resolve_exception"
    resolution: Resolution = attrs.field(validator=instance_of(Resolution))
    note: str = attrs.field(validator=_required_note)
    address: Address | None = attrs.field(
        default=None, validator=instance_of(Address, optional=True)
    )
    eta: datetime | None = attrs.field(default=None, converter=in_utc, validator=_optional_time)
    sku: str | None = attrs.field(default=None, validator=_optional_id)
    unit_price: Money | None = attrs.field(default=None)

    @unit_price.validator
    def _unit_price(self, attribute: attrs.Attribute[Money | None], value: object) -> None:
        if value is not None:
            _price(self, cast("attrs.Attribute[Money]", attribute), value)

    def __attrs_post_init__(self) -> None:
        if self.resolution is Resolution.CORRECT_INFO and self.address is None:
            raise InvalidInput("address", None, "correcting the info names the address")
        pricing = self.resolution is Resolution.CORRECT_PRICE
        if pricing and (self.sku is None or self.unit_price is None):
            raise InvalidInput("unit_price", None, "correcting a price names sku and unit_price")
        if not pricing and (self.sku is not None or self.unit_price is not None):
            raise InvalidInput("sku", self.sku, "only correct_price names a line and a price")
        needs_eta = self.resolution in (Resolution.WAIT_FOR_RESTOCK, Resolution.NEW_ETA)
        if needs_eta and self.eta is None:
            raise InvalidInput("eta", None, f"{self.resolution.value} names the expected time")

    @property
    def reason_text(self) -> str | None:
        """The note."""
        return self.note


@attrs.frozen
class RecordCompensation(ExceptionCommand):
    """Record a compensation given on the case (EX-7): when the case's total would go above
    the shop's limit, it needs an approver, or it is refused and nothing is recorded.

    Attributes:
        compensation: what is given, and its approver if any.
    """

    event: ClassVar[str] = "record_compensation"
    compensation: Compensation = attrs.field(validator=instance_of(Compensation))


@attrs.frozen
class CloseException(ExceptionCommand):
    """Close a resolved case; a follow-up with the customer is then due (EX-5)."""

    event: ClassVar[str] = "close_exception"
    note: str = attrs.field(default="", validator=_note)


@attrs.frozen
class RecordFollowUp(ExceptionCommand):
    """Record the follow-up with the customer after closing (EX-5).

    Attributes:
        note: what the customer said (required).
    """

    event: ClassVar[str] = "record_follow_up"
    note: str = attrs.field(validator=_required_note)

    @property
    def reason_text(self) -> str | None:
        """The note."""
        return self.note


@attrs.frozen
class MissExceptionTarget(ExceptionCommand):
    """A case passed its response or solution target: it escalates by itself (EX-5, TM-7),
    or, closed without a follow-up, staff are reminded."""

    event: ClassVar[str] = "miss_exception_target"


@attrs.frozen
class CheckRestock(ExceptionCommand):
    """The restock ETA came: stock for the case's lines is checked again (from the context
    the service gathers): in stock, the case is resolved and the order released; else the
    case escalates."""

    event: ClassVar[str] = "check_restock"


@attrs.frozen
class RecordTracking(Command):
    """A carrier's tracking event reaches the order (EX-2, TM-4).

    Attributes:
        tracking: the event.
    """

    event: ClassVar[str] = "record_tracking"
    tracking: TrackingEvent = attrs.field(validator=instance_of(TrackingEvent))


@attrs.frozen
class FlagReviewOverdue(Command):
    """TM-2: a paid order was not reviewed within its time: staff are alerted and a
    staff-only ``review_overdue`` case is opened."""

    event: ClassVar[str] = "flag_review_overdue"


@attrs.frozen
class FlagShipmentOverdue(Command):
    """TM-3: an order not shipped in time after payment: a logistics-delay case is opened
    and the customer told."""

    event: ClassVar[str] = "flag_shipment_overdue"


@attrs.frozen
class FlagTrackingSilence(Command):
    """TM-4: no tracking update for too long: the open logistics case escalates to level 3,
    or one is opened there."""

    event: ClassVar[str] = "flag_tracking_silence"


EXCEPTION_COMMAND_TYPES: tuple[type[Command], ...] = (
    OpenException,
    AcknowledgeException,
    EscalateException,
    ResolveException,
    RecordCompensation,
    CloseException,
    RecordFollowUp,
    MissExceptionTarget,
    CheckRestock,
    RecordTracking,
    FlagReviewOverdue,
    FlagShipmentOverdue,
    FlagTrackingSilence,
)
"""Every order-exception command class, registered explicitly (serialization, docs)."""
