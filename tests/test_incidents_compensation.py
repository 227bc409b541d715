"""Compensation on exception cases (EX-7): a total strictly above the limit needs an approver;
without one nothing is recorded; amounts per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import InvalidInput, Money
from orderflow.converter import converter
from orderflow.incidents import (
    Compensation,
    CompensationCheck,
    CompensationKind,
    CompensationProblem,
    CurrencyAmounts,
    IncidentSettings,
    check_compensation,
)
from orderflow.incidents.compensation import MAX_COMPENSATIONS

K = CompensationKind
LIMIT = CurrencyAmounts(Decimal(100))


def cny(amount: str) -> Money:
    """An amount in CNY."""
    return Money(amount, "CNY")


def test_ex7_a_total_exactly_at_the_limit_needs_no_approval() -> None:
    """EX-7: 60.00 recorded plus 40.00 is exactly 100.00: no approval needed."""
    recorded = [Compensation(K.DISCOUNT, cny("60.00"), "coupon for the delay")]
    check = check_compensation(recorded, Compensation(K.GIFT, cny("40.00")), LIMIT, "CNY")
    assert check == CompensationCheck(cny("60.00"), cny("100.00"), cny("100.00"), False, None)
    assert check.acceptable


def test_ex7_a_cent_above_the_limit_needs_an_approver() -> None:
    """EX-7: a total one cent above the limit needs approval; without an approver the
    compensation is refused, with one it is acceptable."""
    recorded = [Compensation(K.DISCOUNT, cny("60.00"))]
    unapproved = Compensation(K.SERVICE_EXTENSION, cny("40.01"))
    check = check_compensation(recorded, unapproved, LIMIT, "CNY")
    assert check.needs_approval
    assert check.problem is CompensationProblem.APPROVAL_NEEDED
    assert not check.acceptable
    assert (check.total_before, check.total_after, check.limit) == (
        cny("60.00"),
        cny("100.01"),
        cny("100.00"),
    )
    approved = Compensation(K.SERVICE_EXTENSION, cny("40.01"), approver="staff-7")
    check = check_compensation(recorded, approved, LIMIT, "CNY")
    assert check.needs_approval
    assert check.acceptable


def test_ex7_once_above_the_limit_every_further_compensation_needs_approval() -> None:
    """EX-7: the limit is on the case's total: after an approved one took it above, the
    next, however small, needs approval too."""
    recorded = [Compensation(K.DISCOUNT, cny("150.00"), approver="head-1")]
    check = check_compensation(recorded, Compensation(K.GIFT, cny("0.01")), LIMIT, "CNY")
    assert check.problem is CompensationProblem.APPROVAL_NEEDED


def test_ex7_an_approver_below_the_limit_is_kept() -> None:
    """EX-7: an approved compensation that did not need it is acceptable (its approver is
    recorded with it)."""
    new = Compensation(K.GIFT, cny("5.00"), approver="supervisor-2")
    check = check_compensation((), new, LIMIT, "CNY")
    assert not check.needs_approval
    assert check.acceptable
    assert new.approver == "supervisor-2"


def test_ex7_limits_per_currency() -> None:
    """EX-7: a currency's own limit replaces the fallback; in a currency without any limit
    every compensation needs approval."""
    limits = CurrencyAmounts(None, {"JPY": Money(10_000, "JPY")})
    at = check_compensation((), Compensation(K.DISCOUNT, Money(10_000, "JPY")), limits, "JPY")
    assert at.acceptable
    above = check_compensation((), Compensation(K.DISCOUNT, Money(10_001, "JPY")), limits, "JPY")
    assert above.problem is CompensationProblem.APPROVAL_NEEDED
    none = check_compensation((), Compensation(K.GIFT, cny("0.01")), limits, "CNY")
    assert none.limit is None
    assert none.needs_approval
    assert none.problem is CompensationProblem.APPROVAL_NEEDED


def test_ex7_a_compensation_in_another_currency_is_refused() -> None:
    """EX-7: a compensation is in the order's currency; another one is a problem, not a
    crash, and changes no total."""
    recorded = [Compensation(K.DISCOUNT, cny("10.00"))]
    usd = Compensation(K.DISCOUNT, Money("1.00", "USD"), approver="head-1")
    check = check_compensation(recorded, usd, LIMIT, "CNY")
    assert check.problem is CompensationProblem.OTHER_CURRENCY
    assert check.total_before == check.total_after == cny("10.00")


def test_ex7_a_case_records_a_bounded_number_of_compensations() -> None:
    """EX-7: past the most compensations a case may record, the next is refused."""
    recorded = [Compensation(K.GIFT, cny("0.01"))] * MAX_COMPENSATIONS
    check = check_compensation(recorded, Compensation(K.GIFT, cny("0.01")), LIMIT, "CNY")
    assert check.problem is CompensationProblem.TOO_MANY


def test_ex7_the_settings_default_limit_is_100_in_the_orders_currency() -> None:
    """EX-7: by default 100.00 CNY (or 100 JPY) is the most a case gives without approval."""
    settings = IncidentSettings()
    assert settings.check_compensation((), Compensation(K.GIFT, cny("100.00")), "CNY").acceptable
    over = settings.check_compensation((), Compensation(K.GIFT, cny("100.01")), "CNY")
    assert over.problem is CompensationProblem.APPROVAL_NEEDED
    assert over.limit == cny("100.00")
    assert settings.check_compensation(
        (), Compensation(K.GIFT, Money(101, "JPY")), "JPY"
    ).limit == (Money(100, "JPY"))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Compensation("discount", cny("1.00")), "compensation.kind"),  # type: ignore[arg-type]
        (lambda: Compensation(K.DISCOUNT, Decimal("1.00")), "compensation.amount"),  # type: ignore[arg-type]
        (lambda: Compensation(K.DISCOUNT, cny("0.00")), "compensation.amount"),
        (lambda: Compensation(K.GIFT, cny("-1.00")), "compensation.amount"),
        (lambda: Compensation(K.GIFT, cny("1.00"), "x" * 2001), "compensation.note"),
        (lambda: Compensation(K.GIFT, cny("1.00"), None), "compensation.note"),  # type: ignore[arg-type]
        (lambda: Compensation(K.GIFT, cny("1.00"), approver=""), "compensation.approver"),
        (lambda: Compensation(K.GIFT, cny("1.00"), approver=7), "compensation.approver"),  # type: ignore[arg-type]
    ],
)
def test_ex7_a_malformed_compensation_is_refused(build: object, field: str) -> None:
    """EX-7: kind, a value above zero, a note of text, an approver's id: else InvalidInput."""
    assert callable(build)
    with pytest.raises(InvalidInput) as raised:
        build()
    assert raised.value.field == field


def test_ex7_a_note_never_appears_in_an_error() -> None:
    """EX-7: a refused note is personal free text: the message gives its size only."""
    with pytest.raises(InvalidInput) as raised:
        Compensation(K.GIFT, cny("1.00"), "call Ms Li on 13800000000\x00")
    assert "13800000000" not in str(raised.value)


def test_ex7_the_check_refuses_what_is_not_a_compensation() -> None:
    """EX-7: the check names its wrong argument."""
    gift = Compensation(K.GIFT, cny("1.00"))
    with pytest.raises(InvalidInput, match="compensation"):
        check_compensation((), cny("1.00"), LIMIT, "CNY")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="recorded"):
        check_compensation([cny("1.00")], gift, LIMIT, "CNY")  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="limits"):
        check_compensation((), gift, Decimal(100), "CNY")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="currency"):
        check_compensation((), gift, LIMIT, "XXQ")


def test_ex7_a_compensation_round_trips_through_the_converter() -> None:
    """EX-7: a compensation is plain data the order's documents can carry."""
    for record in (
        Compensation(K.SERVICE_EXTENSION, cny("35.50"), "warranty +6 months", "head-1"),
        Compensation(K.GIFT, Money(500, "JPY")),
    ):
        data = converter.unstructure(record)
        assert converter.structure(data, Compensation) == record


_AMOUNTS = st.lists(st.integers(1, 20_000), max_size=8)


@given(earlier=_AMOUNTS, cents=st.integers(1, 20_000), limit=st.integers(0, 500))
def test_ex7_approval_is_needed_exactly_when_the_total_goes_above_the_limit(
    earlier: list[int], cents: int, limit: int
) -> None:
    """EX-7: the total is the sum of every compensation; approval is needed iff it is
    strictly above the limit, and then only an approved compensation is acceptable."""
    recorded = [
        Compensation(K.DISCOUNT, Money(Decimal(amount).scaleb(-2), "CNY")) for amount in earlier
    ]
    limits = CurrencyAmounts(Decimal(limit))
    for approver in (None, "head-1"):
        new = Compensation(K.GIFT, Money(Decimal(cents).scaleb(-2), "CNY"), approver=approver)
        check = check_compensation(recorded, new, limits, "CNY")
        total = sum(earlier) + cents
        assert check.total_after == Money(Decimal(total).scaleb(-2), "CNY")
        assert check.total_after - check.total_before == new.amount
        assert check.needs_approval is (total > limit * 100)
        assert check.acceptable is (not check.needs_approval or approver is not None)
