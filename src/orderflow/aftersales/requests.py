"""What a policy looks at: an after-sales request and the lines it names (AS-1, AS-2).

The caller (the case machine, or a host asking "may this be returned?") builds
:class:`RequestFacts` from the order; the rules of a policy never read anything else. Every
field is checked where it is built and refused with :class:`~orderflow.errors.InvalidInput`
naming it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from orderflow.aftersales.model import Basis, CaseKind, CaseReason, ExclusionFlag
from orderflow.errors import InvalidInput
from orderflow.inputs import (
    MAX_IDENTIFIER_LENGTH,
    MAX_LONG_TEXT_LENGTH,
    check_identifier,
    check_text,
    check_time,
)
from orderflow.money import Money

if TYPE_CHECKING:
    from orderflow.model import OrderLine

__all__ = ["RequestFacts", "RequestedLine"]

_MOST_LINES: Final = 1_000
"""The most lines a request may name (an order has at most 1,000, see ``MAX_LINES``)."""
_MOST_UNITS: Final = 1_000_000
_SHIPPED_BACK: Final = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE})


def _sku(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier("line.sku", value)


def _check_units(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MOST_UNITS:
        raise InvalidInput(
            "line.quantity", value, f"must be a whole number from 1 to {_MOST_UNITS:,}"
        )
    return value


def _units(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    _check_units(value)


def _line_category(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text("line.category", value, MAX_IDENTIFIER_LENGTH)


def _line_flags(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, frozenset) or not all(
        isinstance(flag, ExclusionFlag) for flag in value
    ):
        raise InvalidInput("line.exclusions", value, "must be a frozenset of ExclusionFlag")


def _paid(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money) or value.amount < 0:
        raise InvalidInput(f"line.{attribute.name}", value, "must be Money, not negative")


@attrs.frozen
class RequestedLine:
    """One line of an after-sales request: which goods, how many units, what they cost.

    Attributes:
        sku: the line's SKU.
        quantity: the units asked for (some or all of the line's).
        category: the line's product category (``""`` when it has none).
        exclusions: the AS-2 exclusions the line carries, as the platform knows them.
        paid: what the buyer paid for the whole line (not only the units asked for).

    Raises:
        InvalidInput: a malformed SKU or category, a quantity that is not a whole number from
            1 to 1,000,000, flags that are not :class:`~orderflow.aftersales.ExclusionFlag`,
            ``paid`` that is not Money or is negative.
    """

    sku: str = attrs.field(validator=_sku)
    quantity: int = attrs.field(validator=_units)
    category: str = attrs.field(validator=_line_category)
    exclusions: frozenset[ExclusionFlag] = attrs.field(validator=_line_flags)
    paid: Money = attrs.field(validator=_paid)

    @classmethod
    def of(cls, line: OrderLine, quantity: int | None = None) -> RequestedLine:
        """The request for ``quantity`` units of an order line (all of them by default).

        Args:
            line: the order line.
            quantity: the units asked for, at most the line's quantity.

        Raises:
            InvalidInput: a quantity that is not a whole number from 1 to the line's.
        """
        units = line.quantity if quantity is None else _check_units(quantity)
        if units > line.quantity:
            raise InvalidInput("line.quantity", units, f"the line has {line.quantity} units")
        return cls(line.sku, units, line.category, line.exclusions, line.paid_total)


def _kind(instance: object, attribute: attrs.Attribute[CaseKind], value: object) -> None:
    if not isinstance(value, CaseKind):
        raise InvalidInput("kind", value, "must be a CaseKind")


def _reason(instance: object, attribute: attrs.Attribute[CaseReason], value: object) -> None:
    if not isinstance(value, CaseReason):
        raise InvalidInput("reason", value, "must be a CaseReason")


def _lines(value: Iterable[RequestedLine]) -> tuple[RequestedLine, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidInput("lines", value, "must be a sequence of RequestedLine")
    lines = tuple(itertools.islice(value, _MOST_LINES + 1))
    if not 1 <= len(lines) <= _MOST_LINES:
        raise InvalidInput("lines", len(lines), f"a request names 1 to {_MOST_LINES} lines")
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not isinstance(line, RequestedLine):
            raise InvalidInput(f"lines[{index}]", line, "must be a RequestedLine")
        if line.sku in seen:
            raise InvalidInput(f"lines[{index}].sku", line.sku, "names a line twice")
        seen.add(line.sku)
    return lines


def _amount(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money) or value.amount < 0:
        raise InvalidInput("amount", value, "must be Money, not negative")


def _optional_time(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_time(attribute.name, value)


def _time(instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    check_time(attribute.name, value)


def _bool(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(attribute.name, value, "must be True or False")


def _note(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text(attribute.name, value, MAX_LONG_TEXT_LENGTH)


def _state(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier("order_state", value)


@attrs.frozen
class RequestFacts:
    """What the rules of a policy look at: one after-sales request and its order.

    The caller (the case machine, or a host asking "may this be returned?") builds it from
    the order; the policy never reads anything else.

    Attributes:
        kind: what the buyer asks for (AS-1).
        reason: why; its basis chooses the rules that judge it.
        lines: the lines asked about, each once, with the units asked for.
        amount: what the request would refund, computed by the caller from the caps and
            D-11 (zero for an exchange); the decision carries it.
        delivered_at: the delivery scan, ``None`` when the order has not been delivered.
        requested_at: when the buyer asked (timezone-aware).
        stated_unsealed: the request states that digital goods were unsealed or downloaded
            (AS-2 (c)); keyword only, ``False`` by default.
        order_state: the order's state value (``"delivered"``); keyword only.
        amount_note: why ``amount`` is less than the units' price, when it is (an earlier
            refund of the same line), naming the earlier refunds; keyword only. The decision
            carries it, so a reduction is explained, never silent.

    Raises:
        InvalidInput: a field of the wrong type, no lines or more than 1,000, a line named
            twice, a naive time, an amount in another currency than the lines' or above
            what they cost together (AS-5).
    """

    kind: CaseKind = attrs.field(validator=_kind)
    reason: CaseReason = attrs.field(validator=_reason)
    lines: tuple[RequestedLine, ...] = attrs.field(converter=_lines)
    amount: Money = attrs.field(validator=_amount)
    delivered_at: datetime | None = attrs.field(validator=_optional_time)
    requested_at: datetime = attrs.field(validator=_time)
    stated_unsealed: bool = attrs.field(default=False, validator=_bool, kw_only=True)
    order_state: str = attrs.field(validator=_state, kw_only=True)
    amount_note: str = attrs.field(default="", validator=_note, kw_only=True)

    def __attrs_post_init__(self) -> None:
        currency = self.amount.currency
        for index, line in enumerate(self.lines):
            if line.paid.currency != currency:
                raise InvalidInput(
                    f"lines[{index}].paid", line.paid, "must be in the amount's currency"
                )
        if self.amount > Money.sum((line.paid for line in self.lines), currency):
            raise InvalidInput("amount", self.amount, "must not be above what the lines cost")

    @property
    def basis(self) -> Basis:
        """The basis of the request's reason, which decides the rules that judge it."""
        return self.reason.basis

    @property
    def ships_back(self) -> bool:
        """Whether the goods are shipped back: a return or an exchange."""
        return self.kind in _SHIPPED_BACK


_new = object.__new__
_set = object.__setattr__


def requested_line(line: OrderLine, quantity: int) -> RequestedLine:
    """:meth:`RequestedLine.of` for an order line and 1 to its units, built without checking
    them again: the order line checked its SKU, category, exclusions and what was paid, and
    the quote the units (the case machine's own facts; a host's go through the checks)."""
    made = _new(RequestedLine)
    _set(made, "sku", line.sku)
    _set(made, "quantity", quantity)
    _set(made, "category", line.category)
    _set(made, "exclusions", line.exclusions)
    _set(made, "paid", line.paid_total)
    return made


def request_facts(
    kind: CaseKind,
    reason: CaseReason,
    lines: tuple[RequestedLine, ...],
    amount: Money,
    delivered_at: datetime | None,
    requested_at: datetime,
    *,
    stated_unsealed: bool,
    order_state: str,
    amount_note: str,
) -> RequestFacts:
    """:class:`RequestFacts` of a request the case machine quoted, built without checking
    again what was checked where it came from: the command (kind, reason, flag), the order
    (its lines, each once, its state and delivery), the handled instant, and the quote, whose
    amount is within what its lines cost (D-6). The note, which the quote writes, is checked."""
    if amount_note:
        check_text("amount_note", amount_note, MAX_LONG_TEXT_LENGTH)
    made = _new(RequestFacts)
    _set(made, "kind", kind)
    _set(made, "reason", reason)
    _set(made, "lines", lines)
    _set(made, "amount", amount)
    _set(made, "delivered_at", delivered_at)
    _set(made, "requested_at", requested_at)
    _set(made, "stated_unsealed", stated_unsealed)
    _set(made, "order_state", order_state)
    _set(made, "amount_note", amount_note)
    return made
