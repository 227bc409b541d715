"""What a policy says: rules, their verdicts, and the decision they add up to (AS-4).

A :class:`Rule` looks at the :class:`~orderflow.aftersales.RequestFacts` of an after-sales
request and the shop's :class:`~orderflow.aftersales.PolicySettings`, and either says nothing
(the rule does not apply) or gives a :class:`Verdict`: allowed, denied or manual review, with
a sentence for the customer and the facts it used. A policy runs its rules in order and
folds their verdicts into a :class:`Decision`.

Facts are plain values an agent can read out and a host can serialize: text, whole numbers,
booleans, :class:`~orderflow.Money` and timezone-aware datetimes. Never floats.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, runtime_checkable

import attrs

from orderflow.aftersales.model import Basis, CaseKind, ShippingPayer
from orderflow.aftersales.requests import RequestFacts
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_identifier, check_text, check_time
from orderflow.money import Money

if TYPE_CHECKING:
    from orderflow.aftersales.configuration import PolicySettings

__all__ = [
    "MAX_FACTS",
    "Decision",
    "Fact",
    "Rule",
    "Ruling",
    "Verdict",
    "return_shipping_payer",
]

MAX_FACTS: Final = 50
"""The most facts one verdict may carry."""

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
    return FrozenMap(dict(value))


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


def _rule_id_setting(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    """The validator of a rule's ``rule_id`` field: an identifier, else a configuration error.

    Raises:
        InvalidConfiguration: a blank or overlong id, or not a string.
    """
    try:
        check_identifier("rule_id", value)
    except InvalidInput as error:
        raise InvalidConfiguration("rule_id", value, error.problem) from None


def return_shipping_payer(kind: CaseKind, basis: Basis) -> ShippingPayer:
    """Who pays the return shipping of a request (AS-2, AS-3).

    Nothing ships back for a refund only or goods not received; the buyer pays for a
    no-reason return or exchange; the seller pays whenever the reason is on the seller's
    side (a quality problem, a disputed delivery) or agreed with the seller.
    """
    if kind is CaseKind.NOT_RECEIVED or kind is CaseKind.REFUND_ONLY:
        return ShippingPayer.NONE
    return ShippingPayer.BUYER if basis is Basis.NO_REASON else ShippingPayer.SELLER


_new = object.__new__


def _trusted(
    ruling: Ruling, rule_id: str, sentence: str, facts: Mapping[str, Fact], hint: str = ""
) -> Verdict:
    """A verdict of one of the library's own rules, built without checking it again: its
    id, sentence and hint were checked when the rule was made, its facts come from request
    facts already checked. (A host's rules build theirs with the checking constructors.)"""
    verdict = _new(Verdict)
    _set_rule_id(verdict, rule_id)
    _set_ruling(verdict, ruling)
    _set_sentence(verdict, sentence)
    _set_facts(verdict, FrozenMap(facts))
    _set_hint(verdict, hint)
    return verdict


_set_rule_id = Verdict.__dict__["rule_id"].__set__
_set_ruling = Verdict.__dict__["ruling"].__set__
_set_sentence = Verdict.__dict__["sentence"].__set__
_set_facts = Verdict.__dict__["facts"].__set__
_set_hint = Verdict.__dict__["hint"].__set__


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
        amount_note: why ``amount`` is less than the units' price, when it is: the earlier
            refunds of the same lines it names (from the request's facts).
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
    amount_note: str = ""

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
