"""The values an order is made of: states, actors, lines, addresses and close reasons.

Every value here is a frozen attrs class validated where it is built, so that an order made
of them is valid by construction (LC-1, CL-2, CL-6). Text and times are checked by
:mod:`orderflow.inputs` (no NUL, no lone surrogate, bounded lengths, aware times in range).
Limits of the values themselves:

* a line's quantity is at most 1,000,000 (:data:`MAX_QUANTITY`) and an order has at most 1,000
  lines (:data:`MAX_LINES`); the lifecycle's :class:`~orderflow.lifecycle.Limits` set the
  shop's own, lower limits;
* a line total (unit price times quantity) and an order total are below 10^18
  (:data:`~orderflow.money.MAX_AMOUNT`).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar, Final

import attrs

from orderflow.errors import InvalidInput
from orderflow.inputs import (
    MAX_IDENTIFIER_LENGTH,
    MAX_SHORT_TEXT_LENGTH,
    check_identifier,
    check_text,
)
from orderflow.money import _EXACT, MAX_AMOUNT, Money

_ZERO: Final = Decimal(0)
_add = _EXACT.add

__all__ = [
    "MAX_LINES",
    "MAX_PERMISSIONS",
    "MAX_QUANTITY",
    "Actor",
    "ActorKind",
    "Address",
    "CloseReason",
    "OrderLine",
    "OrderState",
    "Permission",
    "validate_lines",
]

MAX_QUANTITY: Final = 1_000_000
"""The most units one line may have, whatever the lifecycle's limits say."""
_SAFE_PRICE_DIGITS: Final = 18 - len(str(MAX_QUANTITY))
"""A unit price below 10^this times at most MAX_QUANTITY units stays below 10^18."""
MAX_LINES: Final = 1_000
"""The most lines one order may have, whatever the lifecycle's limits say."""
MAX_PERMISSIONS: Final = 100
"""The most permission names one actor may hold."""


class ExclusionFlag(enum.StrEnum):
    """Goods excluded from the seven-day no-reason return (AS-2 (a)-(e)), as a line states.

    Exclusions bind the no-reason return only; a quality return of excluded goods is
    allowed.
    """

    MADE_TO_ORDER = "made_to_order"
    """(a) made to the buyer's order (定做)."""
    PERISHABLE = "perishable"
    """(b) fresh or perishable (鲜活易腐)."""
    UNSEALED_DIGITAL = "unsealed_digital"
    """(c) digital, audio-visual or software goods once unsealed or downloaded."""
    PERIODICAL = "periodical"
    """(d) newspapers and periodicals delivered."""
    CONFIRMED_NON_RETURNABLE = "confirmed_non_returnable"
    """(e) goods the buyer confirmed at purchase as not returnable."""


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


def _positive_quantity(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("quantity", value, "must be a whole number")
    if not 1 <= value <= MAX_QUANTITY:
        raise InvalidInput("quantity", value, f"must be from 1 to {MAX_QUANTITY:,}")


def _non_empty_sku(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_identifier("sku", value)


def _is_money(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if not isinstance(value, Money):
        raise InvalidInput(attribute.name, value, "must be Money")
    if value.amount < 0:
        raise InvalidInput(attribute.name, value, "must not be negative")


def _line_name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_text("name", value, MAX_SHORT_TEXT_LENGTH)


def _category(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_text("category", value, MAX_IDENTIFIER_LENGTH)


def _exclusions(
    instance: object, attribute: attrs.Attribute[frozenset[ExclusionFlag]], value: object
) -> None:
    if not isinstance(value, frozenset) or not all(
        isinstance(flag, ExclusionFlag) for flag in value
    ):
        raise InvalidInput("exclusions", value, "must be a frozenset of ExclusionFlag")


def _paid(instance: object, attribute: attrs.Attribute[Money | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Money) or value.amount < 0:
        raise InvalidInput("paid", value, "must be Money, not negative, or None")


@attrs.frozen
class OrderLine:
    """One line of an order: a SKU, a quantity and a unit price.

    Attributes:
        sku: the stock-keeping unit (an identifier); unique within an order.
        quantity: how many units, 1 to 1,000,000 (the lifecycle's limits may allow fewer).
        unit_price: the price of one unit, not negative.
        name: a display name, for notifications and receipts; at most 200 characters.
        category: the product category (at most 100 characters), which after-sales
            policies may treat apart (AS-2: a category excluded from no-reason returns).
        exclusions: what makes the goods excluded from the no-reason return (AS-2 (a)-(e)),
            as the platform knows it.
        paid: what the buyer paid for the whole line after line discounts; ``None`` (the
            default) when it is the line total. It caps what the line can be refunded
            (AS-5), and is what D-11 divides among the units.

    Raises:
        InvalidInput: a malformed field, a line total (unit price times quantity) of 10^18
            or more, or a ``paid`` above the line total or in another currency.
    """

    sku: str = attrs.field(validator=_non_empty_sku)
    quantity: int = attrs.field(validator=_positive_quantity)
    unit_price: Money = attrs.field(validator=_is_money)
    name: str = attrs.field(default="", validator=_line_name)
    category: str = attrs.field(default="", validator=_category, kw_only=True)
    exclusions: frozenset[ExclusionFlag] = attrs.field(
        default=frozenset(), validator=_exclusions, kw_only=True
    )
    paid: Money | None = attrs.field(default=None, validator=_paid, kw_only=True)

    def __attrs_post_init__(self) -> None:
        # A unit price below 10^11 times at most 10^6 units cannot reach 10^18.
        price = self.unit_price.amount
        if price.adjusted() >= _SAFE_PRICE_DIGITS and _EXACT.multiply(price, self.quantity) >= (
            MAX_AMOUNT
        ):
            raise InvalidInput(
                "quantity", self.quantity, "the line total (unit price x quantity) reaches 10^18"
            )
        paid = self.paid
        if paid is not None:
            if paid.currency != self.unit_price.currency:
                raise InvalidInput("paid", paid, "must be in the line's currency")
            if paid > self.total:
                raise InvalidInput("paid", paid, "must not be above the line total")

    @property
    def total(self) -> Money:
        """What the line costs: unit price times quantity."""
        return self.unit_price * self.quantity

    @property
    def paid_total(self) -> Money:
        """What the buyer paid for the line: :attr:`paid`, or the line total (AS-5, D-11)."""
        return self.total if self.paid is None else self.paid


def _str_field(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_text(f"address.{attribute.name}", value, MAX_SHORT_TEXT_LENGTH)


@attrs.frozen
class Address:
    """A shipping address with the recipient's contact (LC-7).

    An address may be incomplete when it is given; the review (LC-2) holds an order whose
    address is incomplete with a ``customer_info`` case naming the missing parts (EX-1). Every
    part is text of at most 200
    characters, without NUL characters or lone surrogates; errors about an address never
    quote it.

    Attributes:
        recipient: who receives the parcel.
        phone: the recipient's phone number.
        line1: street and house number.
        city: city.
        region: province, state or region.
        postal_code: postal code.
        country: ISO 3166-1 alpha-2 code.
        line2: anything else the carrier needs.

    Raises:
        InvalidInput: a part that is not text, is too long or holds a NUL or a lone
            surrogate.
    """

    recipient: str = attrs.field(validator=_str_field)
    phone: str = attrs.field(validator=_str_field)
    line1: str = attrs.field(validator=_str_field)
    city: str = attrs.field(validator=_str_field)
    region: str = attrs.field(default="", validator=_str_field)
    postal_code: str = attrs.field(default="", validator=_str_field)
    country: str = attrs.field(default="CN", validator=_str_field)
    line2: str = attrs.field(default="", validator=_str_field)

    REQUIRED: ClassVar[tuple[str, ...]] = ("recipient", "phone", "line1", "city", "country")

    def missing(self) -> tuple[str, ...]:
        """The names of required parts that are blank (LC-2)."""
        return tuple(name for name in self.REQUIRED if not getattr(self, name).strip())

    def is_complete(self) -> bool:
        """Whether every required part is filled in."""
        return bool(
            self.recipient.strip()
            and self.phone.strip()
            and self.line1.strip()
            and self.city.strip()
            and self.country.strip()
        )


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


def validate_lines(lines: Iterable[OrderLine], field: str = "lines") -> tuple[OrderLine, ...]:
    """Check the lines of an order and return them as a tuple.

    An order has one to 1,000 lines (:data:`MAX_LINES`), every line is an :class:`OrderLine`,
    SKUs are unique, all prices are in one currency, and the total is below 10^18.

    Args:
        lines: the lines, as any iterable (read at most up to one line past the limit).
        field: the field's name, for the error.

    Returns:
        The lines as a tuple.

    Raises:
        InvalidInput: naming the first problem found.
    """
    if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
        raise InvalidInput(field, lines, "must be a sequence of order lines")
    checked = tuple(itertools.islice(lines, MAX_LINES + 1))
    if not checked:
        raise InvalidInput(field, checked, "an order needs at least one line")
    if len(checked) > MAX_LINES:
        raise InvalidInput(field, lines, f"an order has at most {MAX_LINES:,} lines")
    seen: set[str] = set()
    currency = None
    for index, line in enumerate(checked):
        if not isinstance(line, OrderLine):
            raise InvalidInput(f"{field}[{index}]", line, "must be an OrderLine")
        if line.sku in seen:
            raise InvalidInput(f"{field}[{index}].sku", line.sku, "SKUs must be unique")
        seen.add(line.sku)
        if currency is None:
            currency = line.unit_price.currency
        elif line.unit_price.currency != currency:
            raise InvalidInput(
                f"{field}[{index}].unit_price",
                line.unit_price,
                f"all lines must be priced in one currency ({currency})",
            )
    # Prices are not negative, so the order total bounds every partial sum.
    total = _ZERO
    for line in checked:
        total = _add(total, _EXACT.multiply(line.unit_price.amount, line.quantity))
    if total >= MAX_AMOUNT:
        raise InvalidInput(field, lines, "the order total reaches 10^18")
    return checked
