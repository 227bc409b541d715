"""Commands: what can be asked of an order, as typed values.

A command names what the business wants (``Ship(carrier=..., tracking_number=...)``), carries
its payload, and may carry a ``command_id``. Applying a command whose id the order has already
seen returns the original outcome and changes nothing (D-3), which makes retried webhooks and
double clicks harmless.

Where the line is drawn: whatever a command's payload alone decides is checked when the
command is built, and a bad payload raises :class:`~orderflow.errors.InvalidInput` there:
types, the limits every text obeys (:func:`~orderflow.inputs.check_text`: ids, SKUs and
references are identifiers of at most 100 characters, notes and error texts at most 2,000,
no text holds a NUL character or a lone surrogate), a blank carrier or tracking number (LC-3),
a close reason that needs a note without one (CL-2), a payment of zero or less, a negative
price. Whatever depends on the order (its state, its currency, its lines, its refunds), on
the actor or on the time is judged when the command meets the order, and is a refusal that
a dry run lists.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from orderflow.errors import InvalidInput
from orderflow.inputs import (
    MAX_IDENTIFIER_LENGTH,
    MAX_LONG_TEXT_LENGTH,
    check_identifier,
    check_text,
)
from orderflow.model import Address, CloseReason, OrderLine, validate_lines
from orderflow.money import Money

__all__ = [
    "COMMAND_TYPES",
    "ApproveReview",
    "AutoCloseUnpaid",
    "AutoConfirmReceipt",
    "BeginPayment",
    "ChangeAddress",
    "ChangeLines",
    "ChangePrice",
    "Close",
    "Command",
    "ConfirmDelivery",
    "ConfirmReceipt",
    "ConfirmRefund",
    "FailPayment",
    "FailRefund",
    "Hold",
    "Pay",
    "PlaceOrder",
    "Release",
    "RetryRefund",
    "Ship",
    "StartFulfilment",
    "WithdrawFromFulfilment",
]


def _optional_id(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        check_identifier(attribute.name, value)


def _identifier(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier(attribute.name, value)


def _note(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text(attribute.name, value, MAX_LONG_TEXT_LENGTH)


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(attribute.name, value, "must be True or False")


def _required_note(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text(attribute.name, value, MAX_LONG_TEXT_LENGTH, required=True)


def _shipping_text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    # LC-3: a parcel ships with a carrier and a tracking number, never blank ones.
    check_text(attribute.name, value, MAX_IDENTIFIER_LENGTH, required=True)


def _positive_money(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    _money(instance, attribute, value)
    assert isinstance(value, Money)
    if not value.is_positive():
        raise InvalidInput(attribute.name, value, "must be more than zero")


def _price(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    _money(instance, attribute, value)
    assert isinstance(value, Money)
    if value.amount < 0:
        raise InvalidInput(attribute.name, value, "must not be negative")


def _close_note(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    # CL-2: a reason that needs free text (``other``) comes with a note saying why.
    reason = getattr(instance, "reason", None)
    required = isinstance(reason, CloseReason) and reason.needs_note
    check_text(attribute.name, value, MAX_LONG_TEXT_LENGTH, required=required)


def _money(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidInput(attribute.name, value, "must be Money")


def _close_reason(instance: object, attribute: attrs.Attribute[CloseReason], value: object) -> None:
    if not isinstance(value, CloseReason):
        raise InvalidInput(attribute.name, value, "must be a CloseReason")


def _address(instance: object, attribute: attrs.Attribute[Address], value: object) -> None:
    if not isinstance(value, Address):
        raise InvalidInput(attribute.name, value, "must be an Address")


@attrs.frozen
class Command:
    """Base of every command.

    Attributes:
        command_id: an optional id chosen by the caller (a webhook's event id, a request
            id). Re-applying the same id returns the original outcome; the same id with a
            different payload is refused (D-3).
    """

    event: ClassVar[str] = "command"
    """The command's event name in the definitions, in history and in refusal codes: its
    class name in snake case (``PlaceOrder`` is ``place_order``)."""

    command_id: str | None = attrs.field(default=None, kw_only=True, validator=_optional_id)

    @property
    def reason_text(self) -> str | None:
        """The reason this command gives, for the history entry (LC-8); ``None`` if none."""
        return None


@attrs.frozen
class PlaceOrder(Command):
    """Place a new order (it starts in ``pending_payment``).

    Attributes:
        order_id: the new order's id.
        customer_id: the buyer.
        lines: at least one line, unique SKUs, one currency.
        address: where to ship.
    """

    event: ClassVar[str] = "place_order"
    order_id: str = attrs.field(validator=_identifier)
    customer_id: str = attrs.field(validator=_identifier)
    lines: tuple[OrderLine, ...] = attrs.field(converter=validate_lines)
    address: Address = attrs.field(validator=_address)


@attrs.frozen
class BeginPayment(Command):
    """Record that the buyer started paying, so the unpaid timer waits for it (D-10)."""

    event: ClassVar[str] = "begin_payment"
    payment_reference: str = attrs.field(validator=_identifier)


@attrs.frozen
class FailPayment(Command):
    """Record that a payment in progress failed or was abandoned."""

    event: ClassVar[str] = "fail_payment"
    payment_reference: str = attrs.field(validator=_identifier)
    error: str = attrs.field(default="", validator=_note)


@attrs.frozen
class Pay(Command):
    """A payment confirmed by the payment side.

    On an unpaid order it is applied. A payment with a reference already applied and the same
    amount returns the original outcome; with another amount it is refused. Any other payment
    on an order already paid or closed is recorded, never added to what was paid, and yields a
    refund request for itself (D-3, D-10, RK-3).

    Attributes:
        amount: the amount received.
        payment_reference: the payment provider's reference for this payment.
    """

    event: ClassVar[str] = "pay"
    amount: Money = attrs.field(validator=_positive_money)
    payment_reference: str = attrs.field(validator=_identifier)


@attrs.frozen
class ApproveReview(Command):
    """Pass the order review (LC-2) and allocate stock."""

    event: ClassVar[str] = "approve_review"


@attrs.frozen
class StartFulfilment(Command):
    """The warehouse starts picking and packing."""

    event: ClassVar[str] = "start_fulfilment"


@attrs.frozen
class WithdrawFromFulfilment(Command):
    """The warehouse stops work and the order goes back to ``awaiting_shipment`` (LC-6, D-2)."""

    event: ClassVar[str] = "withdraw_from_fulfilment"
    note: str = attrs.field(default="", validator=_note)

    @property
    def reason_text(self) -> str | None:
        """The note, if one was given."""
        return self.note or None


@attrs.frozen
class Ship(Command):
    """Hand the parcel to a carrier (LC-3: carrier and tracking number are required)."""

    event: ClassVar[str] = "ship"
    carrier: str = attrs.field(validator=_shipping_text)
    tracking_number: str = attrs.field(validator=_shipping_text)


@attrs.frozen
class ConfirmDelivery(Command):
    """The carrier reports the parcel delivered."""

    event: ClassVar[str] = "confirm_delivery"


@attrs.frozen
class ConfirmReceipt(Command):
    """The buyer confirms receipt (LC-4)."""

    event: ClassVar[str] = "confirm_receipt"


@attrs.frozen
class AutoConfirmReceipt(Command):
    """The system confirms receipt once the auto-confirm period has passed (LC-4, TM-5)."""

    event: ClassVar[str] = "auto_confirm_receipt"


@attrs.frozen
class Close(Command):
    """Close the order without completing it (CL-1..CL-6).

    Attributes:
        reason: why (CL-2).
        note: free text; required when the reason needs one (``CloseReason.OTHER``).
    """

    event: ClassVar[str] = "close"
    reason: CloseReason = attrs.field(validator=_close_reason)
    note: str = attrs.field(default="", validator=_close_note)

    @property
    def reason_text(self) -> str | None:
        """The close reason's code, with the note if there is one."""
        return f"{self.reason.code}: {self.note}" if self.note else self.reason.code


@attrs.frozen
class AutoCloseUnpaid(Command):
    """The system closes an order left unpaid past the timeout (CL-7, TM-1)."""

    event: ClassVar[str] = "auto_close_unpaid"


@attrs.frozen
class Hold(Command):
    """Put the order on hold under exception handling (LC-6).

    Attributes:
        note: why it is held.
        case_id: the exception case that holds it, if there is one.
    """

    event: ClassVar[str] = "hold"
    note: str = attrs.field(validator=_required_note)
    case_id: str | None = attrs.field(default=None, validator=_optional_id)

    @property
    def reason_text(self) -> str | None:
        """Why the order is held."""
        return self.note


@attrs.frozen
class Release(Command):
    """Release a held order back to the state it was held from (LC-6)."""

    event: ClassVar[str] = "release"
    note: str = attrs.field(default="", validator=_note)

    @property
    def reason_text(self) -> str | None:
        """The note, if one was given."""
        return self.note or None


@attrs.frozen
class ChangePrice(Command):
    """Change one line's unit price; only while unpaid (LC-5)."""

    event: ClassVar[str] = "change_price"
    sku: str = attrs.field(validator=_identifier)
    unit_price: Money = attrs.field(validator=_price)


@attrs.frozen
class ChangeLines(Command):
    """Replace the order's lines; only while unpaid (LC-5)."""

    event: ClassVar[str] = "change_lines"
    lines: tuple[OrderLine, ...] = attrs.field(converter=validate_lines)


@attrs.frozen
class ChangeAddress(Command):
    """Correct the shipping address and contact; only until shipment (LC-7)."""

    event: ClassVar[str] = "change_address"
    address: Address = attrs.field(validator=_address)


@attrs.frozen
class ConfirmRefund(Command):
    """The payment side confirms a refund was paid out (AS-6)."""

    event: ClassVar[str] = "confirm_refund"
    refund_id: str = attrs.field(validator=_identifier)


@attrs.frozen
class FailRefund(Command):
    """The payment side reports a refund failed; it stays visible until retried (AS-6).

    Attributes:
        refund_id: the refund.
        error: what the payment side said.
        declined: ``True`` when the provider answered and declined the refund; ``False``
            (the default, the safe choice) when its outcome is unknown, for example after a
            timeout. A retry after an unknown outcome reuses the same idempotency key, so the
            provider can never pay it twice; a retry after a decline uses a new one (D-17).
    """

    event: ClassVar[str] = "fail_refund"
    refund_id: str = attrs.field(validator=_identifier)
    error: str = attrs.field(default="", validator=_note)
    declined: bool = attrs.field(default=False, validator=_flag)

    @property
    def reason_text(self) -> str | None:
        """The payment side's error, if it gave one."""
        return self.error or None


@attrs.frozen
class RetryRefund(Command):
    """Ask the payment side again for a refund that failed (AS-6)."""

    event: ClassVar[str] = "retry_refund"
    refund_id: str = attrs.field(validator=_identifier)


COMMAND_TYPES: tuple[type[Command], ...] = (
    PlaceOrder,
    BeginPayment,
    FailPayment,
    Pay,
    ApproveReview,
    StartFulfilment,
    WithdrawFromFulfilment,
    Ship,
    ConfirmDelivery,
    ConfirmReceipt,
    AutoConfirmReceipt,
    Close,
    AutoCloseUnpaid,
    Hold,
    Release,
    ChangePrice,
    ChangeLines,
    ChangeAddress,
    ConfirmRefund,
    FailRefund,
    RetryRefund,
)
"""Every command class the library defines, registered explicitly (serialization, docs)."""
