"""Money: an exact decimal amount in an ISO 4217 currency (AS-5).

Amounts are :class:`decimal.Decimal`, never floats. An amount is validated once, where it
enters (``Money(...)``): floats, NaN, infinities, strings that are not plain decimal numbers
and amounts with more decimal places than the currency has are refused with
:class:`InvalidInput`. The amount is then kept at the currency's exponent, so
``Money("10", "CNY")`` equals ``Money("10.00", "CNY")``. Arithmetic and comparison across
currencies are refused.

Limits: an amount is below 10^18 in absolute value (:data:`MAX_AMOUNT`, the 18 integer digits
the SQL store keeps); a string amount is at most 40 characters of plain ASCII decimal syntax
(an optional sign, digits, an optional point and digits; no exponent, underscore, inner space
or non-ASCII digit); a currency has at most 8 decimal places. An operation whose result would
reach 10^18 is refused with :class:`InvalidInput`, never rounded.

All arithmetic and quantizing run in the library's own :class:`decimal.Context` (60 digits,
inexact results trapped), so the host's context (``decimal.getcontext()``: its precision,
rounding and traps) never changes an amount, a total or a split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Final

import attrs

from orderflow.errors import InvalidInput

__all__ = [
    "MAX_AMOUNT",
    "CurrencyMismatch",
    "Money",
    "currency_exponent",
    "register_currency",
]

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
_MAX_EXPONENT: Final = 8
_MAX_DIGITS: Final = 18
MAX_AMOUNT: Final = Decimal(10) ** _MAX_DIGITS
"""Every amount, and every result of arithmetic on amounts, is below this in absolute value."""
_MAX_FACTOR: Final = 10**_MAX_DIGITS
_MAX_TEXT_LENGTH: Final = 40
_PLAIN_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EDGE_SPACE: Final = " \t\n\r\f\v"

_EXACT: Final = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
"""The library's decimal context: wide enough for any product of two bounded amounts and
exact (an inexact result raises instead of rounding); the host's context is never used."""
_ZERO: Final = Decimal(0)


def _quantum(minor_units: int) -> Decimal:
    return Decimal(1).scaleb(-minor_units, context=_EXACT)


_QUANTUM: dict[str, Decimal] = {code: _quantum(exp) for code, exp in _EXPONENTS.items()}
_CURRENCY_CODE: Final = re.compile(r"[A-Z]{3}")


def register_currency(code: str, minor_units: int) -> None:
    """Make a currency code known (for a code ISO 4217 lacks, or a host's own unit).

    Args:
        code: three upper-case letters.
        minor_units: decimal places the currency allows, 0 to 8.

    Raises:
        InvalidInput: the code or the number of minor units is malformed, or the code is
            already known with a different number of minor units.
    """
    if not (isinstance(code, str) and _CURRENCY_CODE.fullmatch(code)):
        raise InvalidInput("currency", code, "a currency code is three letters A to Z")
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        raise InvalidInput("minor_units", minor_units, "must be a whole number")
    if not 0 <= minor_units <= _MAX_EXPONENT:
        raise InvalidInput("minor_units", minor_units, f"must be between 0 and {_MAX_EXPONENT}")
    known = _EXPONENTS.get(code)
    if known is not None and known != minor_units:
        raise InvalidInput("minor_units", minor_units, f"{code} is known with {known} places")
    _EXPONENTS[code] = minor_units
    _QUANTUM[code] = _quantum(minor_units)


def currency_exponent(code: str) -> int:
    """The number of decimal places a currency allows.

    Args:
        code: the currency code.

    Returns:
        The number of minor units (0 for JPY, 2 for CNY).

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
        if not value.is_finite():
            raise InvalidInput("amount", amount, "must be a finite number")
    elif isinstance(amount, int):
        if not -_MAX_FACTOR < amount < _MAX_FACTOR:
            raise InvalidInput("amount", amount, f"must be below 10^{_MAX_DIGITS}")
        value = Decimal(int(amount))
    elif isinstance(amount, str):
        if len(amount) > _MAX_TEXT_LENGTH:
            raise InvalidInput(
                "amount", amount, f"must be at most {_MAX_TEXT_LENGTH} characters long"
            )
        text = amount.strip(_EDGE_SPACE)
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise InvalidInput(
                "amount", amount, "not a decimal number: use ASCII digits and an optional point"
            )
        value = Decimal(text)
    else:
        raise InvalidInput("amount", amount, "must be a Decimal, an int or a numeric string")
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

        Args:
            amount: a :class:`~decimal.Decimal`, an ``int``, or a string of plain ASCII
                decimal syntax (``"19.90"``, ``"-3"``; spaces around it are ignored).
            currency: a known currency code (ISO 4217 or registered).

        Raises:
            InvalidInput: a float, a bool, NaN, infinity, a string that is not a plain
                decimal number or is longer than 40 characters, an amount of 10^18 or more,
                an unknown currency, or more decimal places than the currency allows.
        """
        value = _to_decimal(amount)
        exponent = currency_exponent(currency)
        try:
            kept = value.quantize(_QUANTUM[currency], context=_EXACT)
        except Inexact:
            raise InvalidInput(
                "amount", amount, f"{currency} allows at most {exponent} decimal places"
            ) from None
        # Adding zero turns -0 into 0, in the library's context (round half even).
        self.__attrs_init__(_EXACT.add(kept, _ZERO), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in a currency.

        Raises:
            InvalidInput: the currency is not known.
        """
        zero = _ZEROS.get(currency)
        if zero is None:
            zero = _ZEROS[currency] = cls(0, currency)
        return zero

    @staticmethod
    def sum(amounts: Iterable[Money], currency: str) -> Money:
        """Add amounts up, starting from zero in ``currency``.

        Raises:
            InvalidInput: an item is not Money, is in another currency
                (:class:`CurrencyMismatch`), or the total would reach 10^18.
        """
        total = Money.zero(currency)
        for amount in amounts:
            if not isinstance(amount, Money):
                raise InvalidInput("amounts", amount, "must be Money")
            total = total + amount
        return total

    def _same(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)

    # The operators are on the hot path of every command that moves money: they build the
    # result directly (no validation to repeat) and check only the 10^18 bound.

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        currency = self.currency
        if other.currency != currency:
            raise CurrencyMismatch(currency, other.currency, "add")
        amount = _add(self.amount, other.amount)
        if amount.adjusted() >= _MAX_DIGITS and amount:  # |amount| >= 10^18
            raise _too_large(amount, "sum")
        result = _new(Money)
        _set_amount(result, amount)
        _set_currency(result, currency)
        return result

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        currency = self.currency
        if other.currency != currency:
            raise CurrencyMismatch(currency, other.currency, "subtract")
        amount = _subtract(self.amount, other.amount)
        if amount.adjusted() >= _MAX_DIGITS and amount:  # |amount| >= 10^18
            raise _too_large(amount, "difference")
        result = _new(Money)
        _set_amount(result, amount)
        _set_currency(result, currency)
        return result

    def __neg__(self) -> Money:
        return _money(_EXACT.minus(self.amount), self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        if not -_MAX_FACTOR < factor < _MAX_FACTOR:
            raise InvalidInput("factor", factor, f"the product must be below 10^{_MAX_DIGITS}")
        amount = _multiply(self.amount, int(factor))
        if amount.adjusted() >= _MAX_DIGITS and amount:  # |amount| >= 10^18
            raise _too_large(amount, "product")
        result = _new(Money)
        _set_amount(result, amount)
        _set_currency(result, self.currency)
        return result

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, "compare")
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, "compare")
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

        Args:
            parts: how many parts, 1 to 1,000,000.

        Returns:
            The parts, larger ones first; they add up exactly to this amount.

        Raises:
            InvalidInput: ``parts`` is not a whole number from 1 to 1,000,000.
        """
        if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= _MAX_PARTS:
            raise InvalidInput("parts", parts, f"must be a whole number from 1 to {_MAX_PARTS}")
        exponent = _EXPONENTS[self.currency]
        units = int(_EXACT.scaleb(self.amount, exponent))
        share, left_over = divmod(abs(units), parts)
        sign = -1 if units < 0 else 1
        currency = self.currency
        scaleb = _EXACT.scaleb
        return tuple(
            _money(scaleb(Decimal(sign * (share + (index < left_over))), -exponent), currency)
            for index in range(parts)
        )

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


_ZEROS: dict[str, Money] = {}
_MAX_PARTS: Final = 1_000_000


_add = _EXACT.add
_subtract = _EXACT.subtract
_multiply = _EXACT.multiply
_new = object.__new__
# The slots' own setters: a new amount's two fields set without the attribute lookups of
# ``object.__setattr__`` in a call of ``__attrs_init__``.
_set_amount = Money.__dict__["amount"].__set__
_set_currency = Money.__dict__["currency"].__set__


def _too_large(amount: Decimal, what: str) -> InvalidInput:
    """The error for the result of an operation that reaches 10^18."""
    return InvalidInput("amount", amount, f"the {what} would be 10^{_MAX_DIGITS} or more")


def _money(amount: Decimal, currency: str) -> Money:
    """Build money from an amount already known to be valid (internal, unchecked)."""
    value = _new(Money)
    _set_amount(value, amount)
    _set_currency(value, currency)
    return value
