"""The lines of an order and the address they ship to: what is bought, at what price, and
where it goes.

Every value here is a frozen attrs class validated where it is built (LC-1). A line's
quantity is at most 1,000,000 (:data:`MAX_QUANTITY`) and an order has at most 1,000 lines
(:data:`MAX_LINES`); the lifecycle's :class:`~orderflow.lifecycle.Limits` set the shop's
own, lower limits. A line total (unit price times quantity) and an order total are below
10^18 (:data:`~orderflow.money.MAX_AMOUNT`).
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
    "MAX_QUANTITY",
    "Address",
    "ExclusionFlag",
    "OrderLine",
    "quantity_of",
    "validate_lines",
]

MAX_QUANTITY: Final = 1_000_000
"""The most units one line may have, whatever the lifecycle's limits say."""
_SAFE_PRICE_DIGITS: Final = 18 - len(str(MAX_QUANTITY))
"""A unit price below 10^this times at most MAX_QUANTITY units stays below 10^18."""
MAX_LINES: Final = 1_000
"""The most lines one order may have, whatever the lifecycle's limits say."""


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
    part is text of at most 200 characters, without NUL characters or lone surrogates; errors
    about an address never quote it.

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


def quantity_of(lines: tuple[OrderLine, ...], sku: str | None) -> int:
    """How many units of ``sku`` the lines hold (0 when none of them is that SKU)."""
    for line in lines:
        if line.sku == sku:
            return line.quantity
    return 0
