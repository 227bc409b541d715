"""After-sales commands: the request and the decisions on it (approve, reject, review,
override); the commands that follow are in :mod:`orderflow.aftersales.followups`.

Like every command they validate what their payload alone decides when they are built
(:class:`~orderflow.errors.InvalidInput`): a return without lines, a rejection without a
reason, a deduction without a justification. What depends on the order (its state, the
caps, the units left) is judged when the command meets the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

from orderflow.aftersales.model import CaseKind, CaseReason
from orderflow.commands import (
    Command,
    _flag,
    _identifier,
    _note,
    _optional_id,
    _positive_money,
    _required_note,
)
from orderflow.errors import InvalidInput
from orderflow.inputs import check_identifier, instance_of, unique_items
from orderflow.money import Money

__all__ = [
    "ApproveCase",
    "AskForReview",
    "CaseCommand",
    "DecideReview",
    "OverrideDenial",
    "RejectCase",
    "RequestAfterSales",
    "ShareRequest",
    "Units",
]


@attrs.frozen
class Units:
    """Units of one line: ``Units("TEA", 2)``.

    Raises:
        InvalidInput: a malformed SKU, or a quantity that is not a whole number from 1.
    """

    sku: str = attrs.field(validator=_identifier)
    quantity: int = attrs.field()

    @quantity.validator
    def _whole(self, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
            raise InvalidInput("quantity", value, "must be a whole number from 1 to 1,000,000")


@attrs.frozen
class ShareRequest:
    """An amount of a refund meant for one line: ``ShareRequest("TEA", Money("5", "CNY"))``."""

    sku: str = attrs.field(validator=_identifier)
    amount: Money = attrs.field(validator=_positive_money)


def _positive(field: str, value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidInput(field, value, "must be Money")
    if not value.is_positive():
        raise InvalidInput(field, value, "must be more than zero")


def _units(values: Iterable[Units]) -> tuple[Units, ...]:
    return unique_items(
        "lines",
        values,
        Units,
        _sku,
        what="Units",
        must="must be Units",
        key_name="sku",
        repeated="each SKU at most once",
        most=1_000,
    )


def _shares(values: Iterable[ShareRequest]) -> tuple[ShareRequest, ...]:
    return unique_items(
        "shares",
        values,
        ShareRequest,
        _sku,
        what="ShareRequest",
        must="must be a ShareRequest",
        key_name="sku",
        repeated="each SKU at most once",
    )


def _sku(item: Units | ShareRequest) -> str:
    return item.sku


def _skus(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput("skus", values, "must be a sequence of SKUs")
    checked = tuple(values)
    for index, sku in enumerate(checked):
        check_identifier(f"skus[{index}]", sku)
        if sku in checked[:index]:
            raise InvalidInput(f"skus[{index}]", sku, "each SKU at most once")
    return checked


@attrs.frozen
class RequestAfterSales(Command):
    """The buyer (or staff on the buyer's behalf) asks for money back, a return or an
    exchange (AS-1). When each kind may be asked is D-5.

    Attributes:
        kind: what is asked for.
        reason: why.
        lines: the units asked for, line by line; required for a return or an exchange;
            for a refund with goods not received, all the units left when empty.
        amount: the amount agreed with the buyer, for a refund only (required there).
        note: what the buyer or the agent writes.
        stated_unsealed: the request states that digital goods were unsealed or downloaded
            (AS-2 (c)).
        case_id: the new case's id (``<order id>/case/<n>`` when not given).
    """

    event: ClassVar[str] = "request_after_sales"
    kind: CaseKind = attrs.field(validator=instance_of(CaseKind))
    reason: CaseReason = attrs.field(validator=instance_of(CaseReason))
    lines: tuple[Units, ...] = attrs.field(default=(), converter=_units)
    amount: Money | None = attrs.field(default=None)
    note: str = attrs.field(default="", validator=_note)
    stated_unsealed: bool = attrs.field(default=False, validator=_flag)
    case_id: str | None = attrs.field(default=None, validator=_optional_id)

    def __attrs_post_init__(self) -> None:
        if self.amount is not None:
            _positive("amount", self.amount)
        if self.kind in (CaseKind.RETURN, CaseKind.EXCHANGE) and not self.lines:
            raise InvalidInput("lines", (), f"a {self.kind.value} names the units to send back")
        if self.kind is CaseKind.REFUND_ONLY and self.amount is None:
            raise InvalidInput("amount", None, "a refund only names the amount agreed")
        if self.kind is not CaseKind.REFUND_ONLY and self.amount is not None:
            raise InvalidInput("amount", self.amount, "only a refund only names an amount")

    @property
    def reason_text(self) -> str | None:
        """The reason's code, with the note if there is one."""
        return f"{self.reason.code}: {self.note}" if self.note else self.reason.code


@attrs.frozen
class CaseCommand(Command):
    """Base of the commands on an existing case.

    Attributes:
        case_id: the case.
    """

    event: ClassVar[str] = "case_command"
    case_id: str = attrs.field(validator=_identifier)


@attrs.frozen
class ApproveCase(CaseCommand):
    """Staff approve a request, all of it or some lines (the others are rejected with the
    reason given). Approving a refund with goods not received, or a refund only, requests
    its refund in the same step; an approved return or exchange waits for the goods.

    Attributes:
        skus: the lines approved; all of them when empty.
        reason: why the other lines are rejected (required when some are left out).
    """

    event: ClassVar[str] = "approve_case"
    skus: tuple[str, ...] = attrs.field(default=(), converter=_skus)
    reason: str = attrs.field(default="", validator=_note)


@attrs.frozen
class RejectCase(CaseCommand):
    """Staff reject a request, all of it or some lines, with a reason (D-8).

    Attributes:
        reason: why (required).
        skus: the lines rejected; all of them when empty.
    """

    event: ClassVar[str] = "reject_case"
    reason: str = attrs.field(validator=_required_note)
    skus: tuple[str, ...] = attrs.field(default=(), converter=_skus)

    @property
    def reason_text(self) -> str | None:
        """The reason."""
        return self.reason


@attrs.frozen
class AskForReview(CaseCommand):
    """The buyer asks, once per case, for a supervisor's review of a rejection (D-8)."""

    event: ClassVar[str] = "ask_for_review"
    note: str = attrs.field(default="", validator=_note)


@attrs.frozen
class DecideReview(CaseCommand):
    """A supervisor decides a review, for the rejected lines; the decision is final (D-8).

    Attributes:
        approve: whether the rejected lines are approved.
        note: why (required).
    """

    event: ClassVar[str] = "decide_review"
    approve: bool = attrs.field(validator=_flag)
    note: str = attrs.field(validator=_required_note)

    @property
    def reason_text(self) -> str | None:
        """The supervisor's note."""
        return self.note


@attrs.frozen
class OverrideDenial(CaseCommand):
    """Staff with the override permission overturn a denial, with a written justification;
    the denial and the override both stay in history.

    Attributes:
        justification: why (required).
    """

    event: ClassVar[str] = "override_denial"
    justification: str = attrs.field(validator=_required_note)

    @property
    def reason_text(self) -> str | None:
        """The justification."""
        return self.justification
