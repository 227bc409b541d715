"""Money: exact decimals in a currency (AS-5, D-11)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_FLOOR,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Rounded,
    localcontext,
)

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    ApproveReview,
    CurrencyMismatch,
    InvalidInput,
    Money,
    OrderLine,
    OrderState,
    Pay,
    register_currency,
)
from orderflow.errors import describe
from orderflow.money import currency_exponent
from orderflow.testing import strategies as ofs
from tests.support import STAFF, SYSTEM, apply, place


@pytest.mark.parametrize(
    ("amount", "currency", "problem"),
    [
        (1.5, "CNY", "float"),
        (True, "CNY", "float or a bool"),
        (Decimal("NaN"), "CNY", "finite"),
        (Decimal("Infinity"), "CNY", "finite"),
        ("12,50", "CNY", "not a decimal number"),
        ("abc", "CNY", "not a decimal number"),
        ("1.234", "CNY", "at most 2 decimal places"),
        ("1.5", "JPY", "at most 0 decimal places"),
        ("1", "XXY", "ISO 4217"),
        ("1", "cny", "ISO 4217"),
        ("1e30", "CNY", "not a decimal number"),
        ("1" + "0" * 18, "CNY", r"below 10\^18"),
        ([1], "CNY", "Decimal, an int or a numeric string"),
    ],
)
def test_as5_malformed_amounts_are_refused_naming_the_value(
    amount: object, currency: str, problem: str
) -> None:
    """AS-5: floats, NaN, non-numbers, excess decimals and unknown currencies are refused."""
    with pytest.raises(InvalidInput, match=problem) as info:
        Money(amount, currency)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert repr(info.value.value) in {repr(amount), repr(currency)}


def test_as5_amounts_are_kept_at_the_currency_exponent() -> None:
    """AS-5: 10 and 10.00 yuan are the same amount; trailing zeros beyond are accepted."""
    assert Money("10", "CNY") == Money("10.00", "CNY")
    assert Money("10.000", "CNY").amount == Decimal("10.00")
    assert Money(" 3 ", "JPY").amount == Decimal("3")
    assert str(Money(Decimal("1.5"), "KWD")) == "1.500 KWD"
    assert Money("-0.00", "CNY") == Money.zero("CNY")


def test_as5_different_currencies_never_mix() -> None:
    """AS-5: adding, subtracting or comparing two currencies is refused."""
    yuan, dollars = Money("1", "CNY"), Money("1", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = yuan + dollars
    with pytest.raises(CurrencyMismatch):
        _ = yuan - dollars
    comparisons: tuple[Callable[[], bool], ...] = (
        lambda: yuan < dollars,
        lambda: yuan <= dollars,
        lambda: yuan > dollars,
        lambda: yuan >= dollars,
    )
    for compare in comparisons:
        with pytest.raises(CurrencyMismatch):
            compare()
    assert yuan != dollars


def test_arithmetic_within_a_currency() -> None:
    """Sums, differences, negation and multiplication by whole numbers are exact."""
    a, b = Money("10.10", "CNY"), Money("0.20", "CNY")
    assert a + b == Money("10.30", "CNY")
    assert a - b == Money("9.90", "CNY")
    assert -b == Money("-0.20", "CNY")
    assert b * 3 == 3 * b == Money("0.60", "CNY")
    assert Money.sum([a, b, b], "CNY") == Money("10.50", "CNY")
    assert b < a
    assert a >= b
    assert (b - b).is_zero()
    assert not (b - a).is_positive()
    assert a.__add__(1) is NotImplemented  # type: ignore[operator]
    assert a.__sub__(1) is NotImplemented  # type: ignore[operator]
    assert a.__mul__(1.5) is NotImplemented  # type: ignore[operator]


def test_register_currency_adds_a_code_and_refuses_contradictions() -> None:
    """Hosts can add a currency; a known code cannot change its places."""
    register_currency("XTS", 2)
    assert Money("1.25", "XTS").currency == "XTS"
    register_currency("XTS", 2)
    assert currency_exponent("XTS") == 2
    for code, places in (("CNY", 3), ("xx", 2), ("ABC", -1), ("ABC", 9), ("ABC", 1.5)):
        with pytest.raises(InvalidInput):
            register_currency(code, places)  # type: ignore[arg-type]


@given(ofs.money(), st.integers(min_value=1, max_value=12))
def test_d11_split_parts_add_up_exactly_and_differ_by_at_most_one_minor_unit(
    amount: Money, parts: int
) -> None:
    """D-11: a split adds up to the whole, larger parts first, within one minor unit."""
    pieces = amount.split(parts)
    assert len(pieces) == parts
    assert Money.sum(pieces, amount.currency) == amount
    unit = Decimal(1).scaleb(-currency_exponent(amount.currency))
    amounts = [piece.amount for piece in pieces]
    assert amounts == sorted(amounts, reverse=True)
    assert max(amounts) - min(amounts) <= unit


def test_d11_split_gives_odd_cents_to_the_first_units() -> None:
    """D-11: 10.00 in 3 parts is 3.34, 3.33, 3.33."""
    assert [p.amount for p in Money("10.00", "CNY").split(3)] == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    with pytest.raises(InvalidInput):
        Money("1", "CNY").split(0)


@pytest.mark.parametrize(
    "amount",
    [
        "١٢٣",  # Arabic-Indic digits
        "１２３.４５",  # full-width digits
        "1_000",
        "1e3",
        "1 000",
        "0x10",
        "+-1",
        "1.2.3",
        "",
        " ",
        ".",
        "NaN",
        "Infinity",
        "\u00a012",  # a no-break space is not ASCII white space
        "1" * 41,
        "5" * 5000,
    ],
    ids=describe,
)
def test_as5_amount_strings_are_plain_ascii_decimals(amount: str) -> None:
    """AS-5: a string amount is an optional sign, ASCII digits and an optional point."""
    with pytest.raises(InvalidInput) as info:
        Money(amount, "CNY")
    assert info.value.field == "amount"
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    "amount",
    [
        10**18,
        -(10**18),
        10**5000,
        Decimal("1E+18"),
        Decimal("1E+999999999"),
        Decimal("-1E+999999999"),
        Decimal("1E-999999999"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
        Decimal("9" * 60),
    ],
    ids=describe,
)
def test_as5_int_and_decimal_amounts_are_bounded_before_any_arithmetic(amount: object) -> None:
    """AS-5: amounts of 10^18 or more, and non-finite or too precise ones, are refused."""
    with pytest.raises(InvalidInput):
        Money(amount, "CNY")  # type: ignore[arg-type]


def test_as5_the_largest_amounts_are_kept_exactly() -> None:
    """AS-5: 18 integer digits and the currency's places are kept exactly."""
    largest = Money("999999999999999999.99", "CNY")
    assert str(largest) == "999999999999999999.99 CNY"
    assert Money(10**18 - 1, "JPY").amount == Decimal(10**18 - 1)
    assert Money(Decimal("0E-999999999"), "CNY") == Money.zero("CNY")
    assert Money("1." + "0" * 30, "CNY") == Money("1", "CNY")
    assert Money(".5", "CNY").amount == Decimal("0.50")
    assert Money("+7", "JPY").amount == Decimal(7)


def test_as5_results_of_10_to_the_18_are_refused_never_rounded() -> None:
    """AS-5: a sum, difference or product that would reach 10^18 raises InvalidInput."""
    largest = Money("999999999999999999.99", "CNY")
    cent = Money("0.01", "CNY")
    with pytest.raises(InvalidInput, match="sum"):
        _ = largest + cent
    with pytest.raises(InvalidInput, match="difference"):
        _ = -largest - cent
    with pytest.raises(InvalidInput, match="product"):
        _ = largest * 2
    with pytest.raises(InvalidInput):
        _ = cent * 10**5000
    with pytest.raises(InvalidInput):
        Money.sum([largest, cent], "CNY")
    with pytest.raises(InvalidInput, match="must be Money"):
        Money.sum([cent, 1], "CNY")  # type: ignore[list-item]
    assert largest - cent + cent == largest


def test_money_comparisons_with_other_types_follow_the_operator_protocol() -> None:
    """Comparing money with a number is not supported (TypeError), like Decimal with a str."""
    with pytest.raises(TypeError):
        _ = Money("1", "CNY") < 2  # type: ignore[operator]
    assert Money("1", "CNY").__lt__(2) is NotImplemented  # type: ignore[operator]


def test_currency_codes_are_three_letters() -> None:
    """A currency code is exactly three letters A to Z."""
    for code in ("AB1", "ÀBC", "AB", "ABCD", "A C", "abc", None):
        with pytest.raises(InvalidInput):
            register_currency(code, 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="known with 2 places"):
        register_currency("CNY", 3)


def _hostile_context(context: Context) -> None:
    context.prec = 5
    context.rounding = ROUND_FLOOR
    context.traps[Inexact] = True
    context.traps[Rounded] = True
    context.traps[InvalidOperation] = False
    context.Emax = 10


@given(
    st.lists(ofs.money("CNY", max_value=10**17), min_size=1, max_size=6),
    st.integers(min_value=1, max_value=7),
    st.integers(min_value=-9, max_value=9),
)
def test_as5_the_host_decimal_context_changes_no_amount_total_or_split(
    amounts: list[Money], parts: int, factor: int
) -> None:
    """AS-5, D-11: a host that lowers the precision, rounds down and traps rounding gets the
    same amounts, totals, products and splits as everyone else."""
    total = Money.sum(amounts, "CNY")
    difference = amounts[0] - total
    product = amounts[-1] * factor
    pieces = total.split(parts)
    text = str(amounts[0].amount)
    with localcontext() as context:
        _hostile_context(context)
        assert Money.sum(amounts, "CNY") == total
        assert amounts[0] - total == difference
        assert amounts[-1] * factor == product
        assert -difference == Money.zero("CNY") - difference
        assert total.split(parts) == pieces
        assert Money.sum(total.split(parts), "CNY") == total
        assert Money(text, "CNY") == amounts[0]
        assert Money("-0.00", "CNY").amount.as_tuple().sign == 0


def test_as5_a_host_context_does_not_change_what_an_order_is_due_or_how_it_is_reviewed() -> None:
    """AS-5, LC-2: an order of large amounts is placed, paid and reviewed the same under a
    host context of 5 digits."""
    lines = (OrderLine("SKU-A", 3, Money("123456789.12", "CNY")),)
    with localcontext() as context:
        _hostile_context(context)
        order = place("ctx-1", lines=lines)
        assert order.amount_due == Money("370370367.36", "CNY")
        order = apply(order, Pay(order.amount_due, "pay-ctx"), SYSTEM).order
        order = apply(order, ApproveReview(), STAFF).order
    assert order.state is OrderState.AWAITING_SHIPMENT
