"""The vocabulary of order exceptions (异常订单): types, findings and their evidence,
playbooks, priorities and escalation levels (EX-1..EX-7, RK-1..RK-4).

An order exception is something wrong with an order that staff must handle: the customer's
details, stock, a price, a duplicate, a payment, the parcel. The classifier
(:mod:`orderflow.incidents.classify`) finds them and says why (a :class:`Finding` with its
evidence); an exception case (:class:`~orderflow.incidents.case.ExceptionCase`) follows one
from opening to closing, inside the order.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Final, TypeAlias

import attrs

from orderflow.errors import InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_identifier, check_text, check_time
from orderflow.money import Money

__all__ = [
    "PLAYBOOKS",
    "Evidence",
    "ExceptionType",
    "Finding",
    "Level",
    "Priority",
    "Resolution",
    "Role",
]


class ExceptionType(enum.StrEnum):
    """What is wrong with an order (EX-1)."""

    CUSTOMER_INFO = "customer_info"
    """The address is incomplete or the phone number is not valid."""
    OUT_OF_STOCK = "out_of_stock"
    """Stock is short of what was ordered."""
    PRICE_ERROR = "price_error"
    """A unit price far below the list price."""
    DUPLICATE_ORDER = "duplicate_order"
    """The same customer submitted the same order twice in a short window (RK-2)."""
    PAYMENT_FAILURE = "payment_failure"
    """A payment failed and needs an agent."""
    SUSPECTED_FRAUD = "suspected_fraud"
    """Many orders from one customer, or to one address from many accounts (RK-1)."""
    DUPLICATE_PAYMENT = "duplicate_payment"
    """A second payment reached an order already paid (RK-3, D-3)."""
    PAYMENT_AFTER_CLOSE = "payment_after_close"
    """A payment reached an order already closed (D-10)."""
    LOGISTICS_LOST = "logistics_lost"
    """The carrier lost the parcel."""
    LOGISTICS_DAMAGED = "logistics_damaged"
    """The parcel was damaged on its way."""
    LOGISTICS_DELAYED = "logistics_delayed"
    """The parcel is late, or not shipped in time (TM-3, TM-4)."""
    WRONG_ADDRESS = "wrong_address"
    """The carrier reports a wrong address."""
    QUALITY_DISPUTE = "quality_dispute"
    """The customer disputes the goods' quality."""
    THIRD_PARTY_HOLD = "third_party_hold"
    """A third party holds the parcel (customs)."""
    COMPLAINT = "complaint"
    """A customer's complaint an agent recorded (solution within 48 hours, EX-5)."""
    REVIEW_OVERDUE = "review_overdue"
    """A paid order was not reviewed in time (TM-2); for staff only."""


class Resolution(enum.StrEnum):
    """How an exception case is resolved: one of its type's playbook (EX-3)."""

    CORRECT_INFO = "correct_info"
    """The address or contact was corrected."""
    WAIT_FOR_RESTOCK = "wait_for_restock"
    """A step, not an end: the case stays open with a restock ETA."""
    REFUND = "refund"
    """Refund what cannot be delivered (everything: the order closes; a part: money only)."""
    SUBSTITUTE = "substitute"
    """Another item is sent instead, as agreed with the customer."""
    PAY_DIFFERENCE = "pay_difference"
    """The customer pays the price difference (collected by the host)."""
    REFUND_AND_CLOSE = "refund_and_close"
    """The order is closed and everything paid refunded."""
    CORRECT_PRICE = "correct_price"
    """The price is corrected before payment, in the same outcome."""
    CLOSE_DUPLICATE = "close_duplicate"
    """The duplicate order is closed (not yet processed)."""
    RETURN = "return"
    """The duplicate already shipped: it comes back through after-sales."""
    KEEP_AND_PAY = "keep_and_pay"
    """The duplicate already shipped: the customer keeps it and pays."""
    RELEASE = "release"
    """The suspicion is lifted: the order goes on (the same evidence never holds it again)."""
    CLOSE_AS_FRAUD = "close_as_fraud"
    """The order is closed as suspected fraud, with its refund."""
    RESHIP = "reship"
    """A carrier claim, and the goods are sent again."""
    COMPENSATE = "compensate"
    """A carrier claim or a complaint settled with compensation."""
    NEW_ETA = "new_eta"
    """A new delivery estimate; the customer is told."""
    REFUND_SENT = "refund_sent"
    """An unapplied payment is being refunded: nothing more to do."""
    RETRY_PAYMENT = "retry_payment"
    """The customer is asked to pay again."""
    REVIEWED = "reviewed"
    """The overdue review was done."""
    ANSWERED = "answered"
    """The complaint or dispute was answered."""
    RELEASED_BY_THIRD_PARTY = "released_by_third_party"
    """The third party released the parcel."""
    RESTOCKED = "restocked"
    """The stock came back by the ETA: the order goes on (after a restock wait)."""
    ORDER_CLOSED = "order_closed"
    """The order was closed: its open cases end with it (D-13)."""


R = Resolution
PLAYBOOKS: Final[Mapping[ExceptionType, tuple[Resolution, ...]]] = FrozenMap(
    {
        ExceptionType.CUSTOMER_INFO: (R.CORRECT_INFO,),
        ExceptionType.OUT_OF_STOCK: (R.WAIT_FOR_RESTOCK, R.REFUND, R.SUBSTITUTE),
        ExceptionType.PRICE_ERROR: (R.PAY_DIFFERENCE, R.REFUND_AND_CLOSE, R.CORRECT_PRICE),
        ExceptionType.DUPLICATE_ORDER: (R.CLOSE_DUPLICATE, R.RETURN, R.KEEP_AND_PAY),
        ExceptionType.PAYMENT_FAILURE: (R.RETRY_PAYMENT, R.REFUND_AND_CLOSE),
        ExceptionType.SUSPECTED_FRAUD: (R.RELEASE, R.CLOSE_AS_FRAUD),
        ExceptionType.DUPLICATE_PAYMENT: (R.REFUND_SENT,),
        ExceptionType.PAYMENT_AFTER_CLOSE: (R.REFUND_SENT,),
        ExceptionType.LOGISTICS_LOST: (R.RESHIP, R.REFUND, R.COMPENSATE),
        ExceptionType.LOGISTICS_DAMAGED: (R.RESHIP, R.REFUND, R.COMPENSATE),
        ExceptionType.LOGISTICS_DELAYED: (R.NEW_ETA,),
        ExceptionType.WRONG_ADDRESS: (R.CORRECT_INFO,),
        ExceptionType.QUALITY_DISPUTE: (R.ANSWERED, R.COMPENSATE),
        ExceptionType.THIRD_PARTY_HOLD: (R.RELEASED_BY_THIRD_PARTY, R.REFUND),
        ExceptionType.COMPLAINT: (R.ANSWERED, R.COMPENSATE),
        ExceptionType.REVIEW_OVERDUE: (R.REVIEWED,),
    }
)
"""The resolutions each type allows (EX-3, seed 004 §三). Which of them fits also depends
on the order (a price error: paid or not; a duplicate: shipped or not)."""


class Priority(enum.StrEnum):
    """How fast a case must be answered (EX-5)."""

    URGENT = "urgent"
    """Within 30 minutes, by a senior agent."""
    HIGH = "high"
    """Within 1 hour."""
    NORMAL = "normal"
    """Within 4 hours."""


class Level(enum.StrEnum):
    """An escalation level (EX-4). Levels rise 3 -> 2 -> 1; external stands apart."""

    LEVEL_3 = "level_3"
    """Not resolved within the promised time: technical support."""
    LEVEL_2 = "level_2"
    """A single order with strong dissatisfaction, a damaged high-value item: a senior
    supervisor; compensation needs approval."""
    LEVEL_1 = "level_1"
    """A batch or system failure, a VIP's major complaint: the department head, at once."""
    EXTERNAL = "external"
    """A third party is involved (customs): legal or procurement."""

    @property
    def higher(self) -> Level | None:
        """The next level up (3 -> 2 -> 1); ``None`` at level 1 and for external."""
        return _HIGHER.get(self)


_HIGHER: Final = {Level.LEVEL_3: Level.LEVEL_2, Level.LEVEL_2: Level.LEVEL_1}


class Role(enum.StrEnum):
    """Who an escalated case goes to (EX-4)."""

    AGENT = "agent"
    """The customer-service agent handling the case (not escalated)."""
    TECHNICAL_SUPPORT = "technical_support"
    SENIOR_SUPERVISOR = "senior_supervisor"
    DEPARTMENT_HEAD = "department_head"
    LEGAL = "legal"
    PROCUREMENT = "procurement"


EvidenceValue: TypeAlias = str | int | bool | Decimal | Money | datetime
"""A value in a finding's evidence: text, a whole number, a boolean, an exact decimal (a
ratio), Money or an instant. Never a float."""
Evidence: TypeAlias = Mapping[str, EvidenceValue]
"""What a finding rests on, by name (``"threshold"``, ``"unit_price"``, ``"list_price"``,
``"count"``, ``"window_hours"``, ``"field"``, ``"earlier_order"`` ...)."""

_MOST_EVIDENCE: Final = 30


def _evidence(value: Mapping[str, EvidenceValue]) -> Mapping[str, EvidenceValue]:
    if not isinstance(value, Mapping):
        raise InvalidInput("evidence", value, "must be a mapping of names to values")
    if len(value) > _MOST_EVIDENCE:
        raise InvalidInput("evidence", len(value), f"at most {_MOST_EVIDENCE} entries")
    for key, item in value.items():
        field = f"evidence[{check_identifier('evidence', key)!r}]"
        if isinstance(item, float) or not isinstance(item, str | int | Decimal | Money | datetime):
            raise InvalidInput(
                field, item, "text, a whole number, a bool, a Decimal, Money or a time"
            )
        if isinstance(item, Decimal) and not item.is_finite():
            raise InvalidInput(field, str(item), "a Decimal must be finite")
        if isinstance(item, str):
            check_text(field, item, MAX_LONG_TEXT_LENGTH)
        elif isinstance(item, datetime):
            check_time(field, item)
    return FrozenMap(value)


def _type(instance: object, attribute: attrs.Attribute[ExceptionType], value: object) -> None:
    if not isinstance(value, ExceptionType):
        raise InvalidInput("type", value, "must be an ExceptionType")


def _text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text(attribute.name, value, MAX_LONG_TEXT_LENGTH, required=True)


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(attribute.name, value, "must be True or False")


@attrs.frozen
class Finding:
    """One exception the classifier found, and why (EX-2).

    Attributes:
        type: what is wrong (EX-1).
        detector: the id of the detector that found it (``"RK-1-customer"``).
        summary: a sentence for an agent.
        evidence: the values compared (``"threshold"`` where one applies).
        blocks_review: whether the order may not go on: review puts it on hold with a case.
        freezes: suspected fraud freezes the order (RK-4): the hold is released only by
            resolving the case.
    """

    type: ExceptionType = attrs.field(validator=_type)
    detector: str = attrs.field(validator=lambda i, a, v: check_identifier("detector", v))
    summary: str = attrs.field(validator=_text)
    evidence: Evidence = attrs.field(converter=_evidence, hash=False)
    blocks_review: bool = attrs.field(default=True, validator=_flag)
    freezes: bool = attrs.field(default=False, validator=_flag)

    @property
    def playbook(self) -> tuple[Resolution, ...]:
        """The resolutions this finding's type allows (EX-3)."""
        return PLAYBOOKS[self.type]
