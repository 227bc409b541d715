"""How large an order may grow: the shop's limits on lines, quantities and corrections.

The limits are part of the lifecycle's :class:`~orderflow.lifecycle.Settings`
(``Settings(limits=Limits(lines_per_order=50))``). Placing an order beyond them raises
:class:`~orderflow.errors.InvalidInput` (the lines alone are wrong, whatever the order);
changing an existing order beyond them is a refusal (it depends on the order, and a dry run
lists it; the guards are in :mod:`orderflow.lifecycle.guards`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import attrs

from orderflow import commands as c
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.model import MAX_LINES, MAX_QUANTITY, OrderLine

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
            to more is refused with ``change_lines.too_many_lines``.
        quantity_per_line: the most units of one line (default 10,000, 1 to 1,000,000).
            Placing more raises :class:`~orderflow.errors.InvalidInput`; changing the lines
            to more is refused with ``change_lines.quantity_too_large``.
        corrections_per_order: the most corrections (``ChangeAddress``, ``ChangePrice`` and
            ``ChangeLines`` together) an order may take (default 20, 0 to 1,000); one more is
            refused with ``<command>.too_many_corrections``. This bounds how far a customer can
            make an order's history grow by correcting it.
        cases_per_order: the most after-sales cases an order may hold (default 50, 1 to
            1,000); one more request is refused with
            ``request_after_sales.too_many_cases``.
        exception_cases_per_order: the most exception cases an agent may open on one order
            by hand (default 50, 1 to 1,000; the cases review, payments, timers and the
            carrier open are bounded by what opens them); one more is refused with
            ``open_exception.too_many_cases``.
        tracking_events_per_order: the most carrier tracking events an order's shipment
            may record (default 200, 1 to 10,000); one more is refused with
            ``record_tracking.too_many_events``. This bounds how far a carrier's feed
            replaying events without command ids can make an order's history grow.

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

    cases_per_order: int = attrs.field(
        default=50, validator=_count("limits.cases_per_order", 1, 1_000)
    )
    exception_cases_per_order: int = attrs.field(
        default=50, validator=_count("limits.exception_cases_per_order", 1, 1_000)
    )
    tracking_events_per_order: int = attrs.field(
        default=200, validator=_count("limits.tracking_events_per_order", 1, 10_000)
    )

    def check_lines(self, lines: tuple[OrderLine, ...], field: str = "lines") -> None:
        """Check the lines of an order being placed against these limits.

        Args:
            lines: the lines, already valid as lines (see :class:`~orderflow.OrderLine`).
            field: the field's name, for the error.

        Raises:
            InvalidInput: too many lines, or a line with too many units.
        """
        if len(lines) > self.lines_per_order:
            raise InvalidInput(
                field, len(lines), f"an order may have at most {self.lines_per_order} lines"
            )
        for index, line in enumerate(lines):
            if line.quantity > self.quantity_per_line:
                raise InvalidInput(
                    f"{field}[{index}].quantity",
                    line.quantity,
                    f"a line may have at most {self.quantity_per_line} units",
                )


def limits_setting(instance: object, attribute: object, value: object) -> None:
    """The validator of ``Settings.limits``.

    Raises:
        InvalidConfiguration: not a :class:`Limits`.
    """
    if not isinstance(value, Limits):
        raise InvalidConfiguration("limits", value, "must be orderflow.limits.Limits")
