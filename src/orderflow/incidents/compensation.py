"""Compensation recorded with an exception case (EX-7, seed 002 §补偿方案设计).

A compensation is a discount, a gift or a service extension, each with its value in the
order's currency. When a case's total compensation would go strictly above the configured
limit, the compensation that takes it there needs an approver: without one it is refused and
nothing is recorded; with one, the approver is recorded with it. A total exactly at the limit
needs no approval.

:func:`check_compensation` is the pure check the case machine runs before recording; its
:class:`CompensationCheck` names the limit and the totals, so that the refusal can say them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final

import attrs

from orderflow.errors import InvalidInput
from orderflow.incidents.amounts import CurrencyAmounts
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_identifier, check_text
from orderflow.money import Money

__all__ = [
    "MAX_COMPENSATIONS",
    "Compensation",
    "CompensationCheck",
    "CompensationKind",
    "CompensationProblem",
    "check_compensation",
]

MAX_COMPENSATIONS: Final = 100
"""The most compensations one case may record."""


class CompensationKind(enum.StrEnum):
    """What the customer is given (EX-7)."""

    DISCOUNT = "discount"
    """Money off, now or on a later order."""
    GIFT = "gift"
    """A gift; its value is what it costs the shop."""
    SERVICE_EXTENSION = "service_extension"
    """A longer warranty or service period; its value is what it costs the shop."""


def _kind(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, CompensationKind):
        raise InvalidInput("compensation.kind", value, "must be a CompensationKind")


def _amount(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidInput("compensation.amount", value, "must be Money")
    if not value.is_positive():
        raise InvalidInput(
            "compensation.amount", value, "must be above zero: record what it costs the shop"
        )


def _note(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_text("compensation.note", value, MAX_LONG_TEXT_LENGTH)


def _approver(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_identifier("compensation.approver", value)


@attrs.frozen
class Compensation:
    """One compensation given on an exception case (EX-7).

    Attributes:
        kind: a discount, a gift or a service extension.
        amount: its value in the order's currency, above zero (a gift or a service extension
            is valued at what it costs the shop).
        note: what was agreed, for the record.
        approver: the id of the member of staff who approved it; ``None`` when not approved.

    Raises:
        InvalidInput: a kind that is not a :class:`CompensationKind`; an amount that is not
            Money above zero; a note that is not text of at most 2,000 characters; an
            approver that is not an identifier.
    """

    kind: CompensationKind = attrs.field(validator=_kind)
    amount: Money = attrs.field(validator=_amount)
    note: str = attrs.field(default="", validator=_note)
    approver: str | None = attrs.field(default=None, validator=_approver)


class CompensationProblem(enum.StrEnum):
    """Why a compensation cannot be recorded (the case machine refuses with it)."""

    APPROVAL_NEEDED = "approval_needed"
    """The case's total would go above the limit and no approver is named."""
    OTHER_CURRENCY = "other_currency"
    """The compensation is not in the order's currency."""
    TOO_MANY = "too_many"
    """The case has recorded the most compensations it may."""


@attrs.frozen
class CompensationCheck:
    """The verdict on a compensation about to be recorded on a case.

    Attributes:
        total_before: the case's total compensation so far.
        total_after: the total with the new compensation.
        limit: the limit in the order's currency; ``None`` when none is configured for it,
            in which case every compensation needs approval.
        needs_approval: the new total is strictly above the limit (or there is no limit).
        problem: why it cannot be recorded; ``None`` when it can.
    """

    total_before: Money
    total_after: Money
    limit: Money | None
    needs_approval: bool
    problem: CompensationProblem | None

    @property
    def acceptable(self) -> bool:
        """Whether the compensation may be recorded."""
        return self.problem is None


def check_compensation(
    recorded: Iterable[Compensation],
    new: Compensation,
    limits: CurrencyAmounts,
    currency: str,
) -> CompensationCheck:
    """Judge a compensation about to be recorded on a case (EX-7).

    Args:
        recorded: the compensations the case has recorded already.
        new: the one to record.
        limits: the compensation limit per currency. A currency without a limit (a
            fallback of ``None``) makes every compensation in it need approval.
        currency: the order's currency.

    Returns:
        The totals, the limit, whether approval is needed, and the problem if any: a
        compensation in another currency than the order's, one past the most a case may
        record, or one that needs approval and names no approver.

    Raises:
        InvalidInput: ``new`` or an item of ``recorded`` is not a :class:`Compensation`, an
            item of ``recorded`` is in another currency (a corrupt case), ``limits`` is not
            :class:`~orderflow.incidents.CurrencyAmounts`, ``currency`` is not known.
    """
    if not isinstance(new, Compensation):
        raise InvalidInput("compensation", new, "must be a Compensation")
    if not isinstance(limits, CurrencyAmounts):
        raise InvalidInput("limits", limits, "must be CurrencyAmounts")
    limit = limits.in_currency(currency)
    earlier = tuple(recorded)
    for item in earlier:
        if not isinstance(item, Compensation):
            raise InvalidInput("recorded", item, "must be Compensation records")
    before = Money.sum((item.amount for item in earlier), currency)
    if new.amount.currency != currency:
        return CompensationCheck(before, before, limit, False, CompensationProblem.OTHER_CURRENCY)
    after = before + new.amount
    needs_approval = limit is None or after > limit
    problem: CompensationProblem | None = None
    if len(earlier) >= MAX_COMPENSATIONS:
        problem = CompensationProblem.TOO_MANY
    elif needs_approval and new.approver is None:
        problem = CompensationProblem.APPROVAL_NEEDED
    return CompensationCheck(before, after, limit, needs_approval, problem)
