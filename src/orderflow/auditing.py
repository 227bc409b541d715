"""Audit: replay a stored order's history through the lifecycle and report every divergence.

Loading checks what is cheap (the history is a chain from placing to the order's state,
forward in time, its effects and customers are the order's own). Whether the history is
what the lifecycle would have made of those commands is a full replay: :func:`audit` places
the order again with the first entry's command, actor and time, handles every later entry's
command with its actor and time, and compares each produced entry (from, to, effects) and the
final order with the stored ones. It reports, and never raises for, what differs: a hand-edited
actor, a forged entry, a changed amount. Audit with the lifecycle (and settings) the orders
were written with; other timeouts give other deadlines, which are reported too.

::

    report = audit(order, lifecycle)
    if not report.clean:
        for divergence in report.divergences:
            print(divergence)

:func:`audit_store` audits every order of a store, page by page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import attrs

from orderflow import commands as c
from orderflow.errors import CommandRefused, InvalidInput, InvariantViolation
from orderflow.machine import Lifecycle
from orderflow.model import OrderState
from orderflow.order import ORDER_FIELDS, HistoryEntry, Order
from orderflow.ports import OrderStore

__all__ = ["AuditReport", "Divergence", "audit", "audit_store"]


@attrs.frozen
class Divergence:
    """One way a stored order differs from the replay of its own history.

    Attributes:
        entry: the index of the history entry (0 is the placing one), or ``None`` for the
            order as a whole after the last entry.
        what: what differs: ``"refused"`` (the lifecycle refuses the entry's command),
            ``"replayed"`` (its command id was applied before), ``"invalid"`` (its command
            or actor is not accepted at all), ``"from_state"``, ``"to_state"``, ``"effects"``,
            or ``"order.<field>"`` (``"order.ledger.amount_paid"``).
        detail: what the replay gives against what is stored, in words; never personal data.
    """

    entry: int | None
    what: str
    detail: str

    def __str__(self) -> str:
        where = "order" if self.entry is None else f"history[{self.entry}]"
        return f"{where}: {self.what}: {self.detail}"


@attrs.frozen
class AuditReport:
    """What an audit of one order found.

    Attributes:
        order_id: the order.
        version: its stored version (the number of entries replayed, at most).
        divergences: every divergence found, in history order; empty when the order is
            exactly what its lifecycle makes of its history.
    """

    order_id: str
    version: int
    divergences: tuple[Divergence, ...]

    @property
    def clean(self) -> bool:
        """Whether the replay agrees with the stored order in every entry and field."""
        return not self.divergences


def audit(order: Order, lifecycle: Lifecycle | None = None) -> AuditReport:
    """Replay an order's history through ``lifecycle`` and report every divergence.

    The replay stops at an entry whose command the lifecycle refuses (later entries cannot be
    replayed on an order it never reached); after an entry that differs in its states or
    effects it goes on from the replayed order.

    Args:
        order: the stored order (as a store's ``get`` returns it).
        lifecycle: the lifecycle the order was written with (``Lifecycle()`` by default).

    Returns:
        The report; ``report.clean`` when nothing differs.

    Raises:
        InvalidInput: ``order`` is not an :class:`~orderflow.Order`.
    """
    if not isinstance(order, Order):
        raise InvalidInput("order", type(order).__name__, "must be an Order")
    lifecycle = lifecycle or Lifecycle()
    found: list[Divergence] = []
    replayed = _replay(order, lifecycle, found)
    if replayed is not None:
        _compare_orders(replayed, order, found)
    return AuditReport(order.id, order.version, tuple(found))


def audit_store(
    store: OrderStore, lifecycle: Lifecycle | None = None, *, page_size: int = 100
) -> Iterator[AuditReport]:
    """Audit every order of a store, state by state and by id, ``page_size`` at a time.

    Args:
        store: the store.
        lifecycle: the lifecycle its orders were written with.
        page_size: how many orders to load at a time (at least 1).

    Yields:
        A report for every order, clean or not: filter with ``if not report.clean``.

    Raises:
        InvalidInput: ``page_size`` is not a whole number of at least 1.
        StoreError: a stored order cannot be loaded at all (its row disagrees with its
            document, say); the error names it.
    """
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise InvalidInput("page_size", page_size, "must be a whole number of at least 1")
    lifecycle = lifecycle or Lifecycle()
    for state in OrderState:
        after: str | None = None
        while True:
            page = store.find_by_state(state, limit=page_size, after_id=after)
            for order in page:
                yield audit(order, lifecycle)
            if len(page) < page_size:
                break
            after = page[-1].id


def _replay(order: Order, lifecycle: Lifecycle, found: list[Divergence]) -> Order | None:
    """The order the lifecycle makes of ``order``'s history, or ``None`` when it cannot."""
    first = order.history[0]
    try:  # a loaded order's first command is a PlaceOrder; place() refuses any other
        outcome = lifecycle.place(cast(c.PlaceOrder, first.command), first.actor, first.at)
    except (CommandRefused, InvalidInput, InvariantViolation) as error:
        found.append(_stopped(0, first, error))
        return None
    _compare_entries(0, outcome.entry, first, found)
    current = outcome.order
    for index, stored in enumerate(order.history[1:], start=1):
        try:
            outcome = lifecycle.handle(current, stored.command, stored.actor, stored.at)
        except (CommandRefused, InvalidInput, InvariantViolation) as error:
            found.append(_stopped(index, stored, error))
            return None
        if outcome.replayed:
            found.append(
                Divergence(
                    index,
                    "replayed",
                    f"{stored.event} carries a command id applied before, so the lifecycle "
                    "returns the earlier outcome and adds no entry; the replay stops here",
                )
            )
            return None
        _compare_entries(index, outcome.entry, stored, found)
        current = outcome.order
    return current


def _stopped(index: int, entry: HistoryEntry, error: Exception) -> Divergence:
    if isinstance(error, CommandRefused):
        return Divergence(
            index,
            "refused",
            f"the lifecycle refuses {entry.event} by {entry.actor.kind.value} "
            f"({', '.join(error.codes)}); the replay stops here",
        )
    if isinstance(error, InvariantViolation):
        return Divergence(
            index, "invalid", f"{entry.event} breaks {error.invariant}; the replay stops here"
        )
    assert isinstance(error, InvalidInput)
    return Divergence(
        index, "invalid", f"{entry.event}: {error.field}: {error.problem}; the replay stops here"
    )


def _state(state: OrderState | None) -> str:
    return "none" if state is None else state.value


def _compare_entries(
    index: int, produced: HistoryEntry, stored: HistoryEntry, found: list[Divergence]
) -> None:
    for name in ("from_state", "to_state"):
        mine, theirs = getattr(produced, name), getattr(stored, name)
        if mine != theirs:
            found.append(
                Divergence(
                    index, name, f"the replay gives {_state(mine)}, stored is {_state(theirs)}"
                )
            )
    if produced.effects == stored.effects:
        return
    mine_kinds = [effect.kind for effect in produced.effects]
    stored_kinds = [effect.kind for effect in stored.effects]
    if mine_kinds != stored_kinds:
        detail = f"the replay gives {mine_kinds or 'none'}, stored are {stored_kinds or 'none'}"
    else:
        differing = [
            f"{seq} ({effect.kind}: {', '.join(_differing_fields(effect, theirs))})"
            for seq, (effect, theirs) in enumerate(
                zip(produced.effects, stored.effects, strict=True)
            )
            if effect != theirs
        ]
        detail = f"effects {'; '.join(differing)} differ from the replay's"
    found.append(Divergence(index, "effects", detail))


def _differing_fields(mine: Any, theirs: Any) -> list[str]:
    """The attrs fields in which two values of one class differ (``[]`` for other values)."""
    if type(mine) is not type(theirs) or not attrs.has(type(mine)):
        return []
    return [
        field.name
        for field in attrs.fields(type(mine))
        if getattr(mine, field.name) != getattr(theirs, field.name)
    ]


def _compare_orders(replayed: Order, stored: Order, found: list[Divergence]) -> None:
    if replayed == stored:
        return
    for field in ORDER_FIELDS:
        if field == "history":
            continue  # compared entry by entry
        mine, theirs = getattr(replayed, field), getattr(stored, field)
        if mine == theirs:
            continue
        inner = _differing_fields(mine, theirs)
        names = [f"order.{field}.{name}" for name in inner] or [f"order.{field}"]
        for name in names:
            found.append(Divergence(None, name, "the stored value differs from the replay's"))
