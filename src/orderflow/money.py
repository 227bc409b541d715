"""Money: an exact decimal amount in an ISO 4217 currency (AS-5).

Amounts are :class:`decimal.Decimal`, never floats. An amount is validated once, where it
enters (``Money(...)``): floats, NaN, infinities, strings that are not numbers and amounts
with more decimal places than the currency has are refused with :class:`InvalidInput`.
The amount is then kept at the currency's exponent, so ``Money("10", "CNY")`` equals
``Money("10.00", "CNY")``. Arithmetic and comparison across currencies are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from orderflow.errors import InvalidInput

__all__ = ["CurrencyMismatch", "Money", "currency_exponent", "register_currency"]

# ISO 4217 active codes grouped by their number of minor units.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT "
    "LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN "
    "NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES "
    "WST XCD YER ZAR ZMW ZWL"
)

_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_0.split(), 0),
    **dict.fromkeys(_EXPONENT_2.split(), 2),
    **dict.fromkeys(_EXPONENT_3.split(), 3),
    **dict.fromkeys(_EXPONENT_4.split(), 4),
}
_BUILT_IN: Final = frozenset(_EXPONENTS)
"""The codes of the table above; documents carry the minor units of any other currency."""
_QUANTUM: dict[str, Decimal] = {code: Decimal(1).scaleb(-exp) for code, exp in _EXPONENTS.items()}
_MAX_EXPONENT: Final = 8
_MAX_DIGITS: Final = 18


def register_currency(code: str, minor_units: int) -> None:
    """Make a currency code known (for a code ISO 4217 lacks, or a host's own unit).

    Args:
        code: three upper-case letters.
        minor_units: decimal places the currency allows, 0 to 8.

    Raises:
        InvalidInput: the code or the number of minor units is malformed, or the code is
            already known with a different number of minor units.
    """
    if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isupper()):
        raise InvalidInput("currency", code, "a currency code is three upper-case letters")
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        raise InvalidInput("minor_units", minor_units, "must be a whole number")
    if not 0 <= minor_units <= _MAX_EXPONENT:
        raise InvalidInput("minor_units", minor_units, f"must be between 0 and {_MAX_EXPONENT}")
    known = _EXPONENTS.get(code)
    if known is not None and known != minor_units:
        raise InvalidInput(code, minor_units, f"{code} is already known with {known} places")
    _EXPONENTS[code] = minor_units
    _QUANTUM[code] = Decimal(1).scaleb(-minor_units)


def currency_exponent(code: str) -> int:
    """The number of decimal places a currency allows.

    Raises:
        InvalidInput: the currency is not known.
    """
    try:
        return _EXPONENTS[code]
    except (KeyError, TypeError):
        raise InvalidInput("currency", code, "not a known ISO 4217 currency code") from None


class CurrencyMismatch(InvalidInput):
    """Two amounts in different currencies were added, subtracted or compared."""

    def __init__(self, left: str, right: str, operation: str) -> None:
        super().__init__("currency", right, f"cannot {operation} {left} and {right} amounts")


def _to_decimal(amount: object) -> Decimal:
    if isinstance(amount, bool | float):
        raise InvalidInput("amount", amount, "money must not be a float or a bool; use Decimal")
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int | str):
        try:
            value = Decimal(amount.strip() if isinstance(amount, str) else amount)
        except InvalidOperation:
            raise InvalidInput("amount", amount, "not a decimal number") from None
    else:
        raise InvalidInput("amount", amount, "must be a Decimal, an int or a numeric string")
    if not value.is_finite():
        raise InvalidInput("amount", amount, "must be a finite number")
    if value and value.adjusted() >= _MAX_DIGITS:
        raise InvalidInput("amount", amount, f"must be below 10^{_MAX_DIGITS}")
    return value


@attrs.frozen(init=False, order=False)
class Money:
    """An exact amount of money in one currency.

    Construct with ``Money("19.90", "CNY")`` or ``Money(Decimal("19.90"), "CNY")``.
    Supports ``+``, ``-``, unary ``-``, multiplication by an ``int``, and comparisons,
    all within one currency.

    Attributes:
        amount: the amount, kept at the currency's number of decimal places.
        currency: the ISO 4217 code.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        """Validate and build an amount.

        Raises:
            InvalidInput: a float, NaN, infinity, a non-number, an unknown currency, or more
                decimal places than the currency allows.
        """
        value = _to_decimal(amount)
        exponent = currency_exponent(currency)
        as_tuple = value.as_tuple()
        places = -as_tuple.exponent if isinstance(as_tuple.exponent, int) else 0
        if places > exponent and value != value.quantize(_QUANTUM[currency]):
            raise InvalidInput(
                "amount", amount, f"{currency} allows at most {exponent} decimal places"
            )
        self.__attrs_init__(value.quantize(_QUANTUM[currency]) + 0, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in a currency."""
        zero = _ZEROS.get(currency)
        if zero is None:
            zero = _ZEROS[currency] = cls(0, currency)
        return zero

    @staticmethod
    def sum(amounts: Iterable[Money], currency: str) -> Money:
        """Add amounts up, starting from zero in ``currency``."""
        total = Money.zero(currency)
        for amount in amounts:
            total = total + amount
        return total

    def _same(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "add")
        return _money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "subtract")
        return _money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return _money(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return _money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        """Whether the amount is zero."""
        return not self.amount

    def is_positive(self) -> bool:
        """Whether the amount is above zero."""
        return self.amount > 0

    def split(self, parts: int) -> tuple[Money, ...]:
        """Divide into ``parts`` amounts that add up exactly to this one (D-11).

        The amount is divided in minor units by largest remainder: every part gets the
        same share, and the minor units left over go one each to the first parts.

        Raises:
            InvalidInput: ``parts`` is not a positive whole number.
        """
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            raise InvalidInput("parts", parts, "must be a whole number of at least 1")
        quantum = _QUANTUM[self.currency]
        units = int(self.amount / quantum)
        share, left_over = divmod(abs(units), parts)
        sign = -1 if units < 0 else 1
        return tuple(
            _money(sign * (share + (1 if index < left_over else 0)) * quantum, self.currency)
            for index in range(parts)
        )

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


_ZEROS: dict[str, Money] = {}


def _money(amount: Decimal, currency: str) -> Money:
    """Build money from an amount already known to be valid (internal, unchecked)."""
    value = object.__new__(Money)
    value.__attrs_init__(amount, currency)
    return value
