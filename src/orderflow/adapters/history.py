"""For store authors: a save must extend the stored history, never rewrite it (LC-8, PT-1).

History is append-only: the order a store saves at ``expected_version`` must begin with the
very entries the store holds at that version. :func:`check_extends` says so cheaply in the
normal case, where the order was built from the stored one and shares its entry objects.
"""

from __future__ import annotations

from collections.abc import Sequence

from orderflow.errors import InvalidInput
from orderflow.order import HistoryEntry, Order

__all__ = ["check_extends"]


def check_extends(order: Order, stored: Sequence[HistoryEntry]) -> None:
    """Refuse ``order`` unless its history begins with ``stored``, entry for entry.

    Entries are compared by identity first (an order built from the stored one shares its
    entry objects, so that costs one pointer comparison per entry), then by equality.

    Args:
        order: the order about to be saved.
        stored: the stored order's history (its length is the expected version).

    Raises:
        InvalidInput: naming the first entry that differs; nothing should be written.
    """
    if order.history.extends(stored):  # free when the order was built from the stored one
        return
    prefix = order.history[: len(stored)]
    for index, (mine, theirs) in enumerate(zip(prefix, stored, strict=False)):
        if mine != theirs:
            raise InvalidInput(
                f"order.history[{index}]",
                f"version {index + 1}",
                "differs from the stored entry: a save extends the stored history, it never "
                "rewrites it; nothing was saved",
            )
    raise InvalidInput(  # shorter than what is stored: the version checks come first
        "order.history", f"{len(order.history)} entries", "is shorter than the stored history"
    )
