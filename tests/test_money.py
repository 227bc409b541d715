"""Money: exact decimals in a currency (AS-5, D-11)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import CurrencyMismatch, InvalidInput, Money, register_currency
from orderflow.money import currency_exponent
from orderflow.testing import strategies as ofs


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
