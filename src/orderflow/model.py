"""The values an order is made of that hold no money: its states, the actors who act on it
and the reasons it is closed.

Every value here is a frozen attrs class validated where it is built, so that an order made
of them is valid by construction (LC-1, CL-2, CL-6). Text and times are checked by
:mod:`orderflow.inputs` (no NUL, no lone surrogate, bounded lengths, aware times in range).
The lines and the address, with the limits of a line (:data:`MAX_QUANTITY`,
:data:`MAX_LINES`), are in :mod:`orderflow.lines`; their names are importable from here too.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from typing import ClassVar, Final

import attrs

from orderflow.errors import InvalidInput
from orderflow.inputs import MAX_SHORT_TEXT_LENGTH, check_identifier, check_text
from orderflow.lines import (
    MAX_LINES,
    MAX_QUANTITY,
    Address,
    ExclusionFlag,
    OrderLine,
    validate_lines,
)

__all__ = [
    "MAX_LINES",
    "MAX_PERMISSIONS",
    "MAX_QUANTITY",
    "Actor",
    "ActorKind",
    "Address",
    "CloseReason",
    "ExclusionFlag",
    "OrderLine",
    "OrderState",
    "Permission",
    "validate_lines",
]

MAX_PERMISSIONS: Final = 100
"""The most permission names one actor may hold."""


class OrderState(enum.StrEnum):
    """The states of the order lifecycle (DOMAIN section 1)."""

    PENDING_PAYMENT = "pending_payment"
    """Created, not yet paid (待付款)."""
    PAID = "paid"
    """Payment confirmed, awaiting review (买家已付款 / 待审核)."""
    AWAITING_SHIPMENT = "awaiting_shipment"
    """Review passed, stock allocated, waiting for the warehouse (待发货)."""
    IN_FULFILMENT = "in_fulfilment"
    """The warehouse is picking and packing (拣货/打包中)."""
    SHIPPED = "shipped"
    """Handed to a carrier with a tracking number (已发货)."""
    DELIVERED = "delivered"
    """The carrier reports delivery (已签收)."""
    COMPLETED = "completed"
    """Receipt confirmed by the buyer or automatically (交易成功); final."""
    CLOSED = "closed"
    """Ended without completing (交易关闭); final."""
    ON_HOLD = "on_hold"
    """Held under exception handling (异常订单), remembering the state to return to."""

    @property
    def is_final(self) -> bool:
        """Whether the lifecycle ends here (LC-9)."""
        return self in _FINAL


_FINAL = frozenset({OrderState.COMPLETED, OrderState.CLOSED})


class ActorKind(enum.StrEnum):
    """Who is acting: the buyer, a member of staff, or the system itself (CL-6)."""

    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


class Permission:
    """The permission names staff need for each staff transition (CL-6).

    A host grants them to staff actors; they are plain strings so hosts can map them onto
    their own role systems.
    """

    RECORD_PAYMENT: ClassVar[str] = "order.payment"
    REVIEW: ClassVar[str] = "order.review"
    FULFIL: ClassVar[str] = "order.fulfil"
    SHIP: ClassVar[str] = "order.ship"
    DELIVERY: ClassVar[str] = "order.delivery"
    COMPLETE: ClassVar[str] = "order.complete"
    CLOSE: ClassVar[str] = "order.close"
    HOLD: ClassVar[str] = "order.hold"
    CHANGE_PRICE: ClassVar[str] = "order.price"
    CHANGE_ADDRESS: ClassVar[str] = "order.address"
    REFUND: ClassVar[str] = "order.refund"
    AFTERSALES: ClassVar[str] = "aftersales.manage"
    """Handle after-sales cases: ask on the buyer's behalf, approve, reject, receive returns,
    ship replacements, report a lost return."""
    AFTERSALES_REVIEW: ClassVar[str] = "aftersales.review"
    """Decide a buyer's review of a rejection, as a supervisor (D-8)."""
    EXCEPTIONS: ClassVar[str] = "exceptions.manage"
    """Open, acknowledge, escalate, resolve and close order-exception cases (EX-6)."""
    AFTERSALES_OVERRIDE: ClassVar[str] = "aftersales.override"
    """Overturn a policy's denial, with a justification (the default; see
    ``Settings.override_permission``)."""

    @classmethod
    def all(cls) -> frozenset[str]:
        """Every permission the lifecycle knows."""
        return frozenset(
            value for name, value in vars(cls).items() if name.isupper() and isinstance(value, str)
        )


@attrs.frozen(init=False)
class Actor:
    """Someone acting on an order: a customer, a staff member with permissions, or the system.

    Build them with :meth:`customer`, :meth:`staff` and :meth:`system`.

    Attributes:
        kind: customer, staff or system.
        id: the customer's id, the staff member's id, or the system component's name.
        permissions: what a staff member may do (see :class:`Permission`); empty otherwise.
    """

    kind: ActorKind
    id: str
    permissions: frozenset[str]

    def __init__(
        self, kind: ActorKind | str, id: str, permissions: Iterable[str] = frozenset()
    ) -> None:
        """Validate and build an actor.

        Args:
            kind: customer, staff or system.
            id: an identifier (see :func:`~orderflow.inputs.check_identifier`).
            permissions: permission names (identifiers), at most 100; staff only.

        Raises:
            InvalidInput: an unknown kind, a malformed id, malformed or too many permissions,
                or permissions on a non-staff actor.
        """
        if not isinstance(kind, str):
            raise InvalidInput("actor.kind", kind, "must be customer, staff or system")
        try:
            actor_kind = ActorKind(kind)
        except ValueError:
            raise InvalidInput("actor.kind", kind, "must be customer, staff or system") from None
        if isinstance(permissions, str | bytes) or not isinstance(permissions, Iterable):
            raise InvalidInput("actor.permissions", permissions, "must be a set of names")
        names = tuple(itertools.islice(permissions, MAX_PERMISSIONS + 1))
        if len(names) > MAX_PERMISSIONS:
            raise InvalidInput(
                "actor.permissions", permissions, f"an actor holds at most {MAX_PERMISSIONS}"
            )
        granted = frozenset(check_identifier("actor.permissions", name) for name in names)
        if granted and actor_kind is not ActorKind.STAFF:
            raise InvalidInput("actor.permissions", sorted(granted), "only staff hold permissions")
        self.__attrs_init__(actor_kind, check_identifier("actor.id", id), granted)

    @classmethod
    def customer(cls, customer_id: str) -> Actor:
        """The buyer with this customer id.

        Raises:
            InvalidInput: a malformed id.
        """
        return cls(ActorKind.CUSTOMER, customer_id)

    @classmethod
    def staff(cls, staff_id: str, *permissions: str) -> Actor:
        """A member of staff holding the given permissions.

        Raises:
            InvalidInput: a malformed id or permission name, or too many permissions.
        """
        return cls(ActorKind.STAFF, staff_id, permissions)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The system itself (a timer, a payment callback, a carrier feed).

        Raises:
            InvalidInput: a malformed name.
        """
        return cls(ActorKind.SYSTEM, name)

    def may(self, permission: str) -> bool:
        """Whether this actor holds a permission."""
        return permission in self.permissions

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


def _reason_code(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier("close_reason.code", value)


def _reason_description(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text("close_reason.description", value, MAX_SHORT_TEXT_LENGTH, required=True)


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(f"close_reason.{attribute.name}", value, "must be True or False")


@attrs.frozen
class CloseReason:
    """Why an order was closed (CL-2): a code from a fixed set that hosts may extend.

    The built-in reasons are class attributes (``CloseReason.OUT_OF_STOCK``, ...). A host adds
    its own with :meth:`register`; :meth:`of` finds any known reason by its code.

    Attributes:
        code: the stable code stored with the order.
        description: words for an agent or a customer.
        needs_note: whether a close with this reason must carry free text (``other``).
    """

    code: str = attrs.field(validator=_reason_code)
    description: str = attrs.field(validator=_reason_description)
    needs_note: bool = attrs.field(default=False, validator=_flag)

    CUSTOMER_CANCELLED: ClassVar[CloseReason]
    PAYMENT_TIMEOUT: ClassVar[CloseReason]
    OUT_OF_STOCK: ClassVar[CloseReason]
    SUSPECTED_FRAUD: ClassVar[CloseReason]
    DUPLICATE_ORDER: ClassVar[CloseReason]
    PRICE_ERROR: ClassVar[CloseReason]
    ADDRESS_UNREACHABLE: ClassVar[CloseReason]
    REFUNDED_IN_FULL: ClassVar[CloseReason]
    OTHER: ClassVar[CloseReason]

    _known: ClassVar[dict[str, CloseReason]] = {}

    @classmethod
    def register(cls, code: str, description: str, *, needs_note: bool = False) -> CloseReason:
        """Add a close reason of the host's own and return it.

        Args:
            code: an identifier (see :func:`~orderflow.inputs.check_identifier`).
            description: words for an agent or a customer, at most 200 characters.
            needs_note: whether a close with this reason must carry a note.

        Raises:
            InvalidInput: a malformed code or description, or a code already registered
                differently.
        """
        reason = cls(code, description, needs_note)
        known = cls._known.get(code)
        if known is not None and known != reason:
            raise InvalidInput("close_reason.code", code, "already registered differently")
        cls._known[code] = reason
        return reason

    @classmethod
    def of(cls, code: str) -> CloseReason:
        """The known reason with this code.

        Raises:
            InvalidInput: no reason has this code.
        """
        reason = cls._known.get(code) if isinstance(code, str) else None
        if reason is None:
            raise InvalidInput("close_reason", code, "not a known close reason")
        return reason

    @classmethod
    def known(cls) -> tuple[CloseReason, ...]:
        """Every registered reason, built-in ones first."""
        return tuple(cls._known.values())

    def __str__(self) -> str:
        return self.code


CloseReason.CUSTOMER_CANCELLED = CloseReason.register(
    "customer_cancelled", "the customer cancelled the order"
)
CloseReason.PAYMENT_TIMEOUT = CloseReason.register(
    "payment_timeout", "the order was not paid in time"
)
CloseReason.OUT_OF_STOCK = CloseReason.register("out_of_stock", "the goods are out of stock")
CloseReason.SUSPECTED_FRAUD = CloseReason.register(
    "suspected_fraud", "the order was stopped as suspected fraud"
)
CloseReason.DUPLICATE_ORDER = CloseReason.register(
    "duplicate_order", "the order duplicates another order"
)
CloseReason.PRICE_ERROR = CloseReason.register("price_error", "the order was priced in error")
CloseReason.ADDRESS_UNREACHABLE = CloseReason.register(
    "address_unreachable", "the address cannot be reached"
)
CloseReason.REFUNDED_IN_FULL = CloseReason.register(
    "refunded_in_full", "everything paid was refunded"
)
CloseReason.OTHER = CloseReason.register("other", "another reason", needs_note=True)
