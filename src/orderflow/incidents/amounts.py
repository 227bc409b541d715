"""An amount a shop configures per currency: the high-value threshold of the escalation matrix
(EX-4) and the compensation limit above which approval is needed (EX-7).

An order is in one currency, and a figure such as "1000.00" means something different in CNY
and in JPY. So a :class:`CurrencyAmounts` holds one amount per currency the shop names, and a
fallback amount for every other currency. The fallback must be a whole number of units, so
that it exists in every currency, those without minor units (JPY) included: a lookup can then
never fail. A fallback of ``None`` means that currencies the shop did not name have no amount;
each setting says what that means for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.money import MAX_AMOUNT, Money, currency_exponent

__all__ = ["CurrencyAmounts"]

_MOST_CURRENCIES: Final = 200


def _fallback(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidConfiguration("fallback", value, "must be a Decimal, an int or None")
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise InvalidConfiguration("fallback", value, "must be from 0 to below 10^18")
    if amount != amount.to_integral_value():
        raise InvalidConfiguration(
            "fallback", value, "must be a whole number of units, so that every currency has it"
        )
    return amount


def _amounts(value: object) -> Mapping[str, Money]:
    if not isinstance(value, Mapping):
        raise InvalidConfiguration("amounts", value, "must be a mapping of currency to Money")
    if len(value) > _MOST_CURRENCIES:
        raise InvalidConfiguration("amounts", len(value), f"at most {_MOST_CURRENCIES} currencies")
    for currency, amount in value.items():
        try:
            currency_exponent(currency)
        except InvalidInput:
            raise InvalidConfiguration("amounts", currency, "not a known currency code") from None
        if not isinstance(amount, Money) or amount.currency != currency:
            raise InvalidConfiguration(
                f"amounts[{currency}]", amount, f"must be Money in {currency}"
            )
        if amount.amount < 0:
            raise InvalidConfiguration(f"amounts[{currency}]", amount, "must not be negative")
    return FrozenMap(value)


@attrs.frozen
class CurrencyAmounts:
    """One amount per currency, and a fallback for the currencies not named.

    Attributes:
        fallback: the amount, in units of the order's currency, for every currency without
            its own entry; a whole number (``Decimal("1000.00")`` is 1000.00 CNY and 1000
            JPY). ``None``: currencies without an entry have no amount.
        amounts: the amount of each currency the shop names (``{"JPY": Money(150000,
            "JPY")}``); each key is the amount's own currency.

    Raises:
        InvalidConfiguration: a negative fallback, one with a fraction of a unit or not a
            Decimal or int; an unknown currency, an entry in another currency than its key,
            a negative entry, more than 200 entries.
    """

    fallback: Decimal | None = attrs.field(converter=_fallback)
    amounts: Mapping[str, Money] = attrs.field(
        factory=FrozenMap[str, Money], converter=_amounts, hash=False
    )

    def in_currency(self, currency: str) -> Money | None:
        """The amount that applies to an order in ``currency``.

        Args:
            currency: the order's currency code.

        Returns:
            The currency's own entry, else the fallback in that currency, else ``None``.

        Raises:
            InvalidInput: ``currency`` is not a known currency code.
        """
        own = self.amounts.get(currency)
        if own is not None:
            return own
        currency_exponent(currency)
        if self.fallback is None:
            return None
        return Money(self.fallback, currency)
