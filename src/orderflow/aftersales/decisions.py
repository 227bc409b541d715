"""What a policy looks at and what it says: requests, rules, verdicts and decisions (AS-4).

A :class:`Rule` looks at the :class:`RequestFacts` of an after-sales request and the shop's
:class:`~orderflow.aftersales.PolicySettings`, and either says nothing (the rule does not
apply) or gives a :class:`Verdict`: allowed, denied or manual review, with a sentence for the
customer and the facts it used. A policy runs its rules in order and folds their verdicts
into a :class:`Decision`.

Facts are plain values an agent can read out and a host can serialize: text, whole numbers,
booleans, :class:`~orderflow.Money` and timezone-aware datetimes. Never floats.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, runtime_checkable

import attrs

from orderflow.aftersales.model import Basis, CaseKind, CaseReason, ExclusionFlag, ShippingPayer
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
    from orderflow.aftersales.configuration import PolicySettings
    from orderflow.model import OrderLine

__all__ = [
    "MAX_FACTS",
    "Decision",
    "Fact",
    "RequestFacts",
    "RequestedLine",
    "Rule",
    "Ruling",
    "Verdict",
    "return_shipping_payer",
]

MAX_FACTS: Final = 50
"""The most facts one verdict may carry."""
_MOST_LINES: Final = 1_000
"""The most lines a request may name (an order has at most 1,000, see ``MAX_LINES``)."""
_MOST_UNITS: Final = 1_000_000

Fact: TypeAlias = str | int | bool | Money | datetime
"""The value of a fact: text, a whole number, a boolean, money or an aware datetime."""


class Ruling(enum.StrEnum):
    """What a rule or a policy says about a request (AS-4)."""

    ALLOWED = "allowed"
    """The request may go ahead (the seller may still decide, as the case machine says)."""
    DENIED = "denied"
    """The request is refused; the sentence says why and the hint what to do instead."""
    MANUAL = "manual"
    """An agent must look at the request (a disputed delivery, for example)."""


def _check_fact(key: object, value: object) -> None:
    field = f"facts[{check_identifier('facts', key)!r}]"
    if isinstance(value, float) or not isinstance(value, str | int | Money | datetime):
        raise InvalidInput(field, value, "a fact is text, a whole number, a bool, Money or a time")
    if isinstance(value, str):
        check_text(field, value, MAX_LONG_TEXT_LENGTH)
    elif isinstance(value, datetime):
        check_time(field, value)


def _facts(value: Mapping[str, Fact]) -> Mapping[str, Fact]:
    if not isinstance(value, Mapping):
        raise InvalidInput("facts", value, "must be a mapping of names to values")
    if len(value) > MAX_FACTS:
        raise InvalidInput("facts", len(value), f"a verdict carries at most {MAX_FACTS} facts")
    for key, item in value.items():
        _check_fact(key, item)
    return MappingProxyType(dict(value))


def _rule_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier("rule_id", value)


def _ruling(instance: object, attribute: attrs.Attribute[Ruling], value: object) -> None:
    if not isinstance(value, Ruling):
        raise InvalidInput("ruling", value, "must be a Ruling")


def _sentence(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text(attribute.name, value, MAX_LONG_TEXT_LENGTH, required=attribute.name == "sentence")


@attrs.frozen
class Verdict:
    """What one rule says about a request (AS-4).

    Build one with :meth:`allowed`, :meth:`denied` or :meth:`manual`, or the constructor.

    Attributes:
        rule_id: the id of the rule that gave it (the policy checks it is the rule's own).
        ruling: allowed, denied or manual review.
        sentence: a sentence an agent can read to the customer.
        facts: the facts the rule used, by name, in the order it gives them: text, whole
            numbers, booleans, :class:`~orderflow.Money`, aware datetimes (never floats).
        hint: what the customer may do instead, when there is something.

    Raises:
        InvalidInput: a blank or overlong rule id or sentence, a ruling that is not a
            :class:`Ruling`, more than 50 facts, a fact of another type (a float, ``None``,
            a naive datetime), a fact name that is not an identifier.
    """

    rule_id: str = attrs.field(validator=_rule_id)
    ruling: Ruling = attrs.field(validator=_ruling)
    sentence: str = attrs.field(validator=_sentence)
    facts: Mapping[str, Fact] = attrs.field(factory=dict, converter=_facts, hash=False)
    hint: str = attrs.field(default="", validator=_sentence)

    @classmethod
    def allowed(
        cls, rule_id: str, sentence: str, facts: Mapping[str, Fact], hint: str = ""
    ) -> Verdict:
        """A verdict that allows the request.

        Raises:
            InvalidInput: as the constructor.
        """
        return cls(rule_id, Ruling.ALLOWED, sentence, facts, hint)

    @classmethod
    def denied(
        cls, rule_id: str, sentence: str, facts: Mapping[str, Fact], hint: str = ""
    ) -> Verdict:
        """A verdict that denies the request.

        Raises:
            InvalidInput: as the constructor.
        """
        return cls(rule_id, Ruling.DENIED, sentence, facts, hint)

    @classmethod
    def manual(
        cls, rule_id: str, sentence: str, facts: Mapping[str, Fact], hint: str = ""
    ) -> Verdict:
        """A verdict that sends the request to an agent.

        Raises:
            InvalidInput: as the constructor.
        """
        return cls(rule_id, Ruling.MANUAL, sentence, facts, hint)


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


def return_shipping_payer(kind: CaseKind, basis: Basis) -> ShippingPayer:
    """Who pays the return shipping of a request (AS-2, AS-3).

    Nothing ships back for a refund only or goods not received; the buyer pays for a
    no-reason return or exchange; the seller pays whenever the reason is on the seller's
    side (a quality problem, a disputed delivery) or agreed with the seller.
    """
    if kind is CaseKind.NOT_RECEIVED or kind is CaseKind.REFUND_ONLY:
        return ShippingPayer.NONE
    return ShippingPayer.BUYER if basis is Basis.NO_REASON else ShippingPayer.SELLER


@runtime_checkable
class Rule(Protocol):
    """One rule of an after-sales policy: a small object with one decision method.

    Rules are code: the host writes them, and a policy runs the same rules for every order
    (only the settings an order snapshotted differ). A rule must be pure: it looks only at the
    request's facts and the settings, never at the clock or the outside world.
    """

    @property
    def rule_id(self) -> str:
        """The rule's id, unique in a policy (``"AS-2a"``, ``"shop-gift-cards"``)."""
        ...

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Judge a request.

        Args:
            facts: the request.
            settings: the settings the order snapshotted.

        Returns:
            A verdict whose ``rule_id`` is this rule's, or ``None`` when the rule does not
            apply to this request (it is then absent from the decision's verdicts).
        """
        ...


@attrs.frozen
class Decision:
    """What a policy says about a request, and why (AS-4).

    Attributes:
        ruling: denied when any rule denies; else manual when any rule asks for a review;
            else allowed.
        rule_id: the rule that decided: the first denying rule in policy order; else the
            first asking for a review; else, for an allowed request, its window rule (the
            last allowing verdict whose facts name a ``window_ends``), or the last allowing
            rule; ``"AS-4"`` (the policy itself) when no rule applied.
        sentence: the deciding verdict's sentence, for the customer.
        hint: the deciding verdict's hint.
        facts: the deciding verdict's facts.
        verdicts: the verdict of every rule that applied, in policy order.
        amount: what the request would refund (from the request's facts).
        shipping_payer: who pays the return shipping (:func:`return_shipping_payer`), which
            follows from the request's kind and basis whatever the ruling.
        policy_version: the version of the settings that decided.
    """

    ruling: Ruling
    rule_id: str
    sentence: str
    hint: str
    facts: Mapping[str, Fact] = attrs.field(hash=False)
    verdicts: tuple[Verdict, ...]
    amount: Money
    shipping_payer: ShippingPayer
    policy_version: str = ""

    @property
    def deciding(self) -> Verdict | None:
        """The verdict that decided, ``None`` when no rule applied."""
        for verdict in self.verdicts:
            if verdict.rule_id == self.rule_id:
                return verdict
        return None

    def verdict(self, rule_id: str) -> Verdict | None:
        """The verdict of one rule, ``None`` when it did not apply."""
        for verdict in self.verdicts:
            if verdict.rule_id == rule_id:
                return verdict
        return None
