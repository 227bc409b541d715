"""How large an order may grow: the shop's limits on lines, quantities and corrections.

The limits are part of the lifecycle's :class:`~orderflow.lifecycle.Settings`
(``Settings(limits=Limits(lines_per_order=50))``). Placing an order beyond them raises
:class:`~orderflow.errors.InvalidInput` (the lines alone are wrong, whatever the order);
changing an existing order beyond them is a refusal (it depends on the order, and a dry run
lists it). The guards here are named by the lifecycle definition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

from orderflow import commands as c
from orderflow.errors import InvalidConfiguration, InvalidInput, Refusal
from orderflow.model import MAX_LINES, MAX_QUANTITY, OrderLine
from orderflow.money import Money

if TYPE_CHECKING:
    from orderflow.lifecycle import Step

__all__ = ["CORRECTIONS", "Limits"]

CORRECTIONS: Final[frozenset[type[c.Command]]] = frozenset(
    {c.ChangeAddress, c.ChangePrice, c.ChangeLines}
)
"""The commands that count as corrections of an order (LC-5, LC-7)."""

_MAX_CORRECTIONS: Final = 1_000


def _count(name: str, low: int, high: int) -> Callable[[object, object, int], None]:
    def check(instance: object, attribute: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidConfiguration(name, value, f"must be a whole number from {low} to {high}")

    return check


@attrs.frozen
class Limits:
    """How large an order may grow (part of :class:`~orderflow.lifecycle.Settings`).

    Attributes:
        lines_per_order: the most lines an order may have (default 100, 1 to 1,000).
            Placing more raises :class:`~orderflow.errors.InvalidInput`; changing the lines
            to more is refused with ``lines.too_many``.
        quantity_per_line: the most units of one line (default 10,000, 1 to 1,000,000).
            Placing more raises :class:`~orderflow.errors.InvalidInput`; changing the lines
            to more is refused with ``lines.quantity_too_large``.
        corrections_per_order: the most corrections (``ChangeAddress``, ``ChangePrice`` and
            ``ChangeLines`` together) an order may take (default 20, 0 to 1,000); one more is
            refused with ``order.too_many_corrections``. This bounds how far a customer can
            make an order's history grow by correcting it.

    Raises:
        InvalidConfiguration: a limit that is not a whole number in its range.
    """

    lines_per_order: int = attrs.field(
        default=100, validator=_count("limits.lines_per_order", 1, MAX_LINES)
    )
    quantity_per_line: int = attrs.field(
        default=10_000, validator=_count("limits.quantity_per_line", 1, MAX_QUANTITY)
    )
    corrections_per_order: int = attrs.field(
        default=20, validator=_count("limits.corrections_per_order", 0, _MAX_CORRECTIONS)
    )

    def check_lines(self, lines: tuple[OrderLine, ...], field: str = "lines") -> None:
        """Check the lines of an order being placed against these limits.

        Args:
            lines: the lines, already valid as lines (see :class:`~orderflow.OrderLine`).
            field: the field's name, for the error.

        Raises:
            InvalidInput: too many lines, or a line with too many units.
        """
        found = self.excess(lines)
        if found is not None:
            refusal, index = found
            if index is None:
                raise InvalidInput(field, len(lines), refusal.message)
            raise InvalidInput(f"{field}[{index}].quantity", lines[index].quantity, refusal.message)

    def excess(self, lines: tuple[OrderLine, ...]) -> tuple[Refusal, int | None] | None:
        """The first limit the lines break, as a refusal with the index of the line at
        fault (``None`` when it is the number of lines); ``None`` when they keep to them."""
        if len(lines) > self.lines_per_order:
            return (
                Refusal(
                    "lines.too_many",
                    f"An order may have at most {self.lines_per_order} lines.",
                    "Split the goods over several orders.",
                    "LC-5",
                ),
                None,
            )
        for index, line in enumerate(lines):
            if line.quantity > self.quantity_per_line:
                return (
                    Refusal(
                        "lines.quantity_too_large",
                        f"A line may have at most {self.quantity_per_line} units.",
                        "Split the quantity over several orders.",
                        "LC-5",
                    ),
                    index,
                )
        return None


def limits_setting(instance: object, attribute: object, value: object) -> None:
    """The validator of ``Settings.limits``.

    Raises:
        InvalidConfiguration: not a :class:`Limits`.
    """
    if not isinstance(value, Limits):
        raise InvalidConfiguration("limits", value, "must be orderflow.limits.Limits")


def guard_lines_limits(step: Step) -> Refusal | None:
    """``ChangeLines``: the new lines keep to the shop's limits (LC-5)."""
    command = step.command
    assert isinstance(command, c.ChangeLines)
    found = step.settings.limits.excess(command.lines)
    return None if found is None else found[0]


def guard_price_total(step: Step) -> Refusal | None:
    """``ChangePrice``: at the new price the line and order totals stay below 10^18 (AS-5).

    A total that does not fit is refused, never rounded.
    """
    command = step.command
    assert isinstance(command, c.ChangePrice)
    currency = step.order.currency
    if command.unit_price.currency != currency:
        return None  # the price guard refuses it, naming the currency
    try:
        Money.sum(
            (
                command.unit_price * line.quantity if line.sku == command.sku else line.total
                for line in step.order.lines
            ),
            currency,
        )
    except InvalidInput:
        return Refusal(
            "price.total_too_large",
            "At that price the order's total would reach 10^18, more than can be kept.",
            "Check the price.",
            "AS-5",
        )
    return None


def guard_corrections(step: Step) -> Refusal | None:
    """Corrections: an order takes at most ``limits.corrections_per_order`` of them.

    Counts the corrections in the order's history; only correction commands pay for it.
    """
    limit = step.settings.limits.corrections_per_order
    done = sum(1 for entry in step.order.history if type(entry.command) in CORRECTIONS)
    if done >= limit:
        return Refusal(
            "order.too_many_corrections",
            f"This order has been corrected {done} times, the most this shop allows.",
            "Close the order and place a new one with the right details.",
            "LC-5, LC-7",
        )
    return None
