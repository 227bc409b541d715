"""The guards of the corrections staff make before an order ships (LC-5, LC-7): a line's
price, new lines and how many corrections one order takes.

Each guard judges the correction against the order: the line it names, its currency, the
order's total, the shop's limits. :mod:`orderflow.lifecycle.guards` lists them with the
lifecycle's other guards.
"""

from __future__ import annotations

from orderflow import commands as c
from orderflow.engine import Guard, GuardResult, RefusalText
from orderflow.errors import InvalidInput, RefusalCategory
from orderflow.limits import CORRECTIONS
from orderflow.money import Money
from orderflow.step import Step

__all__ = [
    "CORRECTIONS_LEFT",
    "LINES_CURRENCY",
    "LINES_WITHIN_LIMITS",
    "PRICE_CURRENCY",
    "PRICE_LINE",
    "PRICE_TOTAL_FITS",
    "QUANTITY_WITHIN_LIMITS",
]

_INVALID = RefusalCategory.INVALID
_OK: GuardResult = None
_REFUSED: GuardResult = {}


def _price_line(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.ChangePrice)
    known = any(line.sku == command.sku for line in step.order.lines)
    return _OK if known else {"sku": command.sku}


PRICE_LINE = Guard(
    RefusalText(
        "unknown_sku",
        "The order has no line with SKU {sku}.",
        "Check the SKU.",
        "LC-5",
        _INVALID,
    ),
    _price_line,
    payload=True,
)
"""A price is changed on a line the order has."""


def _price_currency(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.ChangePrice)
    currency = step.order.currency
    return _OK if command.unit_price.currency == currency else {"currency": currency}


PRICE_CURRENCY = Guard(
    RefusalText(
        "currency_mismatch",
        "The order is priced in {currency}.",
        "Give the price in the order's currency.",
        "LC-5",
        _INVALID,
    ),
    _price_currency,
    payload=True,
)
"""A new price is in the order's currency."""


def _price_total_fits(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.ChangePrice)
    currency = step.order.currency
    if command.unit_price.currency != currency:
        return _OK  # the currency guard refuses it, naming the currency
    try:
        Money.sum(
            (
                command.unit_price * line.quantity if line.sku == command.sku else line.paid_total
                for line in step.order.lines
            ),
            currency,
        )
    except InvalidInput:
        return _REFUSED
    return _OK


PRICE_TOTAL_FITS = Guard(
    RefusalText(
        "total_too_large",
        "At that price the order's total would reach 10^18, more than can be kept.",
        "Check the price.",
        "AS-5",
        _INVALID,
    ),
    _price_total_fits,
    payload=True,
)
"""A total that does not fit what the stores keep is refused, never rounded (AS-5)."""


def _lines_currency(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.ChangeLines)
    currency = command.lines[0].unit_price.currency
    if currency == step.order.currency:
        return _OK
    return {"order_in": step.order.currency, "lines_in": currency}


LINES_CURRENCY = Guard(
    RefusalText(
        "currency_mismatch",
        "The order is priced in {order_in}, the new lines in {lines_in}.",
        "Price the new lines in the order's currency, or place a new order.",
        "LC-5",
        _INVALID,
    ),
    _lines_currency,
    payload=True,
)
"""New lines are priced in the order's currency."""


def _too_many_lines(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.ChangeLines)
    limit = step.settings.limits.lines_per_order
    return {"limit": limit} if len(command.lines) > limit else _OK


LINES_WITHIN_LIMITS = Guard(
    RefusalText(
        "too_many_lines",
        "An order may have at most {limit} lines.",
        "Split the goods over several orders.",
        "LC-5",
        _INVALID,
    ),
    _too_many_lines,
    payload=True,
)
"""New lines keep to the shop's number of lines per order."""


def _quantity_within_limits(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.ChangeLines)
    limit = step.settings.limits.quantity_per_line
    too_large = any(line.quantity > limit for line in command.lines)
    return {"limit": limit} if too_large else _OK


QUANTITY_WITHIN_LIMITS = Guard(
    RefusalText(
        "quantity_too_large",
        "A line may have at most {limit} units.",
        "Split the quantity over several orders.",
        "LC-5",
        _INVALID,
    ),
    _quantity_within_limits,
    payload=True,
)
"""New lines keep to the shop's units per line."""


def _corrections_left(step: Step) -> GuardResult:
    limit = step.settings.limits.corrections_per_order
    done = sum(1 for entry in step.order.history if type(entry.command) in CORRECTIONS)
    return {"done": done} if done >= limit else _OK


CORRECTIONS_LEFT = Guard(
    RefusalText(
        "too_many_corrections",
        "This order has been corrected {done} times, the most this shop allows.",
        "Close the order and place a new one with the right details.",
        "LC-5, LC-7",
    ),
    _corrections_left,
)
"""An order takes at most ``limits.corrections_per_order`` corrections (counted in its
history; only correction commands pay for counting)."""
