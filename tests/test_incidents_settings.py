"""The settings of exception handling (EX-4, EX-5, EX-7): their defaults, the high-value
threshold per currency, and amounts per currency refused when malformed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from orderflow import InvalidConfiguration, InvalidInput, Money
from orderflow.incidents import (
    CaseFacts,
    CurrencyAmounts,
    EscalationMatrix,
    ExceptionType,
    IncidentSettings,
    Level,
    Priority,
    ServiceTargets,
)
from orderflow.incidents.matrix import DEFAULT_ESCALATION_ROWS

T = ExceptionType
L = Level
SETTINGS = IncidentSettings()


def test_ex4_ex5_ex7_the_defaults() -> None:
    """EX-4, EX-5, EX-7: the seed's matrix and targets, high value from 1000.00 and approval
    above 100.00, each in the order's currency."""
    assert SETTINGS.matrix.rows == DEFAULT_ESCALATION_ROWS
    assert SETTINGS.targets == ServiceTargets()
    assert SETTINGS.targets.acknowledge[Priority.URGENT] == timedelta(minutes=30)
    assert SETTINGS.high_value_threshold.in_currency("CNY") == Money("1000.00", "CNY")
    assert SETTINGS.high_value_threshold.in_currency("JPY") == Money(1000, "JPY")
    assert SETTINGS.compensation_limit.in_currency("USD") == Money("100.00", "USD")


@pytest.mark.parametrize(
    ("amount", "facts_level"),
    [
        (Money("1000.00", "CNY"), L.LEVEL_2),  # exactly at the threshold: high value
        (Money("999.99", "CNY"), None),
        (Money("1000", "JPY"), L.LEVEL_2),  # the fallback in a currency without cents
        (Money("999", "JPY"), None),
        (Money("1000.000", "KWD"), L.LEVEL_2),
        (Money("999.999", "KWD"), None),
    ],
)
def test_ex4_high_value_is_at_or_above_the_threshold(
    amount: Money, facts_level: Level | None
) -> None:
    """EX-4: an amount due exactly at the threshold is high value, a minor unit less is not."""
    facts = SETTINGS.facts(amount)
    assert facts.high_value is (facts_level is not None)
    assert SETTINGS.route(T.LOGISTICS_DAMAGED, facts).level is facts_level


def test_ex4_the_threshold_per_currency() -> None:
    """EX-4: a currency's own threshold replaces the fallback; without a fallback, a currency
    the shop did not name has no high-value orders."""
    own = IncidentSettings(
        high_value_threshold=CurrencyAmounts(Decimal(1000), {"JPY": Money(150_000, "JPY")})
    )
    assert not own.is_high_value(Money(149_999, "JPY"))
    assert own.is_high_value(Money(150_000, "JPY"))
    assert own.is_high_value(Money("1000.00", "USD"))
    named_only = IncidentSettings(
        high_value_threshold=CurrencyAmounts(None, {"CNY": Money("800.00", "CNY")})
    )
    assert named_only.is_high_value(Money("800.00", "CNY"))
    assert not named_only.is_high_value(Money("999999.00", "USD"))
    with pytest.raises(InvalidInput, match="amount_due"):
        SETTINGS.is_high_value(Decimal(1000))  # type: ignore[arg-type]


def test_ex4_facts_carry_what_the_host_knows() -> None:
    """EX-4: the settings build the facts the matrix reads, high value decided for them."""
    facts = SETTINGS.facts(
        Money("20.00", "CNY"), vip=True, orders_affected=3, major_complaint=True, overdue=True
    )
    assert facts == CaseFacts(
        vip=True, high_value=False, orders_affected=3, major_complaint=True, overdue=True
    )
    assert SETTINGS.route(T.COMPLAINT, facts).level is L.LEVEL_1


@pytest.mark.parametrize(
    ("build", "setting"),
    [
        (lambda: CurrencyAmounts(Decimal(-1)), "fallback"),
        (lambda: CurrencyAmounts(Decimal("0.5")), "fallback"),
        (lambda: CurrencyAmounts(Decimal("NaN")), "fallback"),
        (lambda: CurrencyAmounts(Decimal(10) ** 18), "fallback"),
        (lambda: CurrencyAmounts(1000.0), "fallback"),
        (lambda: CurrencyAmounts(True), "fallback"),
        (lambda: CurrencyAmounts("1000"), "fallback"),
        (lambda: CurrencyAmounts(None, [("CNY", Money(1, "CNY"))]), "amounts"),
        (lambda: CurrencyAmounts(None, {"XXQ": Money(1, "CNY")}), "amounts"),
        (lambda: CurrencyAmounts(None, {"CNY": Money(1, "USD")}), "amounts[CNY]"),
        (lambda: CurrencyAmounts(None, {"CNY": Decimal(1)}), "amounts[CNY]"),
        (lambda: CurrencyAmounts(None, {"CNY": Money(-1, "CNY")}), "amounts[CNY]"),
        (lambda: CurrencyAmounts(None, {str(i): Money(1, "CNY") for i in range(201)}),
         "amounts"),
        (lambda: IncidentSettings(matrix=()), "incidents.matrix"),  # type: ignore[arg-type]
        (lambda: IncidentSettings(targets={}), "incidents.targets"),  # type: ignore[arg-type]
        (lambda: IncidentSettings(high_value_threshold=Decimal(1000)),  # type: ignore[arg-type]
         "incidents.high_value_threshold"),
        (lambda: IncidentSettings(compensation_limit=Money(100, "CNY")),  # type: ignore[arg-type]
         "incidents.compensation_limit"),
    ],
)  # fmt: skip
def test_ex4_ex7_malformed_settings_are_refused(build: object, setting: str) -> None:
    """EX-4, EX-7: an amount that is negative, a fraction of a unit as a fallback, a float,
    in another currency than its key; a setting of the wrong kind: refused, named."""
    assert callable(build)
    with pytest.raises(InvalidConfiguration) as raised:
        build()
    assert raised.value.setting == setting


def test_ex4_ex7_amounts_per_currency() -> None:
    """EX-4, EX-7: an entry wins over the fallback; a zero amount is allowed; an unknown
    currency is refused at the lookup, naming it."""
    amounts = CurrencyAmounts(Decimal(0), {"USD": Money("150.00", "USD")})
    assert amounts.in_currency("USD") == Money("150.00", "USD")
    assert amounts.in_currency("CNY") == Money(0, "CNY")
    assert CurrencyAmounts(7).fallback == Decimal(7)
    with pytest.raises(InvalidInput, match="currency"):
        amounts.in_currency("XXQ")
    assert (
        IncidentSettings(matrix=EscalationMatrix(rows=()))
        .route(T.THIRD_PARTY_HOLD, CaseFacts())
        .level
        is None
    )
