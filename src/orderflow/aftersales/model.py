"""The after-sales vocabulary: kinds of case, reasons, exclusions, return conditions (AS-1..AS-3).

An after-sales case (售后单) is the buyer asking for money back, for a return, or for an
exchange, on one or more lines of an order. These are the values a case is described by;
:mod:`orderflow.aftersales.policy` decides on a request and the case machine runs it.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import attrs

from orderflow.errors import InvalidInput
from orderflow.inputs import MAX_SHORT_TEXT_LENGTH, check_identifier, check_text
from orderflow.model import ExclusionFlag

__all__ = ["Basis", "CaseKind", "CaseReason", "ExclusionFlag", "ReturnCondition", "ShippingPayer"]


class CaseKind(enum.StrEnum):
    """What the buyer asks for (AS-1); when each may be asked is D-5."""

    NOT_RECEIVED = "not_received"
    """Refund, goods not received (未收到货 仅退款): from payment until delivery, or later for a
    delivery the buyer disputes."""
    REFUND_ONLY = "refund_only"
    """Refund only, goods received (已收到货 仅退款): an amount agreed with the buyer."""
    RETURN = "return"
    """Return and refund (退货退款): approved, shipped back, received, refunded."""
    EXCHANGE = "exchange"
    """Exchange (换货): shipped back, received, a replacement shipped."""


class Basis(enum.StrEnum):
    """On what ground a reason stands, which decides the rules that judge it."""

    NOT_RECEIVED = "not_received"
    """The goods never arrived as they should (nothing shipped, late, a carrier problem)."""
    DELIVERY_DISPUTE = "delivery_dispute"
    """The delivery is disputed: an empty parcel, missing items, a wrong item."""
    NO_REASON = "no_reason"
    """No reason needed: the seven-day no-reason return (AS-2)."""
    QUALITY = "quality"
    """The goods are faulty or not as described (AS-3)."""
    AGREED = "agreed"
    """An amount agreed with the buyer (refund only)."""


@attrs.frozen
class CaseReason:
    """Why the buyer asks (AS-1): a code from a fixed set that hosts may extend.

    The built-in reasons are class attributes (``CaseReason.QUALITY_PROBLEM``, ...); a host
    adds its own with :meth:`register`. A reason is written whole in documents, so an order
    whose case names a host's reason loads in any process.

    Attributes:
        code: the stable code.
        description: words for an agent or a customer.
        basis: the ground it stands on, which decides the rules that judge it.
    """

    code: str
    description: str
    basis: Basis

    NOTHING_SHIPPED: ClassVar[CaseReason]
    CARRIER_PROBLEM: ClassVar[CaseReason]
    EMPTY_PARCEL: ClassVar[CaseReason]
    NOT_SHIPPED_ON_TIME: ClassVar[CaseReason]
    WRONG_ITEM: ClassVar[CaseReason]
    BOUGHT_BY_MISTAKE: ClassVar[CaseReason]
    NO_REASON: ClassVar[CaseReason]
    QUALITY_PROBLEM: ClassVar[CaseReason]
    NOT_AS_DESCRIBED: ClassVar[CaseReason]
    AGREED_AMOUNT: ClassVar[CaseReason]

    _known: ClassVar[dict[str, CaseReason]] = {}

    def __attrs_post_init__(self) -> None:
        check_identifier("case_reason.code", self.code)
        check_text("case_reason.description", self.description, MAX_SHORT_TEXT_LENGTH)
        if not isinstance(self.basis, Basis):
            raise InvalidInput("case_reason.basis", self.basis, "must be a Basis")

    @classmethod
    def register(cls, code: str, description: str, basis: Basis) -> CaseReason:
        """Add a reason of the host's own and return it.

        Raises:
            InvalidInput: a malformed reason, or a code registered already differently.
        """
        reason = cls(code, description, basis)
        known = cls._known.get(code)
        if known is not None and known != reason:
            raise InvalidInput("case_reason.code", code, "already registered differently")
        cls._known[code] = reason
        return reason

    @classmethod
    def of(cls, code: str) -> CaseReason:
        """The known reason with this code.

        Raises:
            InvalidInput: no reason has this code.
        """
        try:
            return cls._known[code]
        except (KeyError, TypeError):
            raise InvalidInput("case_reason", code, "not a known after-sales reason") from None

    @classmethod
    def known(cls) -> tuple[CaseReason, ...]:
        """Every registered reason, built-in ones first."""
        return tuple(cls._known.values())

    def __str__(self) -> str:
        return self.code


CaseReason.NOTHING_SHIPPED = CaseReason.register(
    "nothing_shipped", "the seller shipped nothing", Basis.NOT_RECEIVED
)
CaseReason.CARRIER_PROBLEM = CaseReason.register(
    "carrier_problem", "a problem with the carrier", Basis.NOT_RECEIVED
)
CaseReason.EMPTY_PARCEL = CaseReason.register(
    "empty_parcel", "the parcel was empty or items were missing", Basis.DELIVERY_DISPUTE
)
CaseReason.NOT_SHIPPED_ON_TIME = CaseReason.register(
    "not_shipped_on_time", "the order was not shipped on time", Basis.NOT_RECEIVED
)
CaseReason.WRONG_ITEM = CaseReason.register(
    "wrong_item", "the seller sent the wrong item", Basis.DELIVERY_DISPUTE
)
CaseReason.BOUGHT_BY_MISTAKE = CaseReason.register(
    "bought_by_mistake", "bought by mistake or no longer wanted", Basis.NO_REASON
)
CaseReason.NO_REASON = CaseReason.register(
    "no_reason", "a return without a reason (seven days)", Basis.NO_REASON
)
CaseReason.QUALITY_PROBLEM = CaseReason.register(
    "quality_problem", "a quality problem", Basis.QUALITY
)
CaseReason.NOT_AS_DESCRIBED = CaseReason.register(
    "not_as_described", "the goods are not as described", Basis.QUALITY
)
CaseReason.AGREED_AMOUNT = CaseReason.register(
    "agreed_amount", "an amount agreed with the buyer", Basis.AGREED
)


class ReturnCondition(enum.StrEnum):
    """The state of goods a return brings back."""

    AS_SOLD = "as_sold"
    """As sold: refunded in full for the units received."""
    DAMAGED_BY_BUYER = "damaged_by_buyer"
    """Damaged by the buyer: an agent deducts an amount, with a justification."""
    WRONG_ITEM = "wrong_item"
    """Not what was sold: nothing is refunded for it."""


class ShippingPayer(enum.StrEnum):
    """Who pays the return shipping (AS-2, AS-3)."""

    BUYER = "buyer"
    """The buyer, for a no-reason return."""
    SELLER = "seller"
    """The seller, for a quality problem or a delivery the seller got wrong."""
    NONE = "none"
    """Nothing is shipped back."""
