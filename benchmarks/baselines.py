"""Baseline implementations of the order lifecycle, for benchmarking orderflow against.

Three ways of running the same e-commerce order lifecycle without orderflow:

* ``BareTableMachine``: a hand-written ``{(state, event): (dest, allowed_actors)}`` dict.
  This is the bare cost of a guarded, history-recording state change.
* ``SharedTransitionsMachine``: one ``transitions.Machine`` built with ``model=None`` and
  shared by every order; events are fired with ``machine.events[name].trigger(order, ...)``.
* ``NaiveMachinePerOrder``: a new ``transitions.Machine(model=order, ...)`` for every order,
  with events fired through the trigger methods it attaches (``order.pay(...)``).

The lifecycle is ``place`` (creates the order in ``pending_payment``), then ``pay``,
``approve_review``, ``start_fulfilment``, ``ship``, ``confirm_delivery`` and
``confirm_receipt``. Every event does the same work in every baseline: refuse an event that
is not allowed from the current state, refuse an actor kind the event does not allow, for
``ship`` require a non-empty carrier and tracking number, then append a ``HistoryRecord``
and set the new state.

Guard failures (actor, shipment details, and illegal events in the bare table) raise
``TransitionRefusedError``; an event fired from the wrong state in the two ``transitions``
baselines raises ``transitions.MachineError``, as a plain ``transitions`` user would see.

Run the file directly to print a comparison table::

    python benchmarks/baselines.py
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple, TypeVar, cast

from transitions import Machine, MachineError

if TYPE_CHECKING:
    from transitions.core import EventData, TransitionConfigDict

__all__ = [
    "ALLOWED_ACTORS",
    "BASELINES",
    "COMMANDS_PER_LIFECYCLE",
    "INITIAL_STATE",
    "LIFECYCLE",
    "PLACE_ACTORS",
    "STATES",
    "BareTableMachine",
    "EventPayload",
    "HistoryRecord",
    "NaiveMachinePerOrder",
    "NaiveOrder",
    "Order",
    "SharedTransitionsMachine",
    "TransitionRefusedError",
    "bare_run",
    "bare_setup",
    "bytes_per_order",
    "main",
    "measure_lifecycle",
    "measure_setup",
    "naive_run",
    "naive_setup",
    "shared_run",
    "shared_setup",
]

EventPayload = Mapping[str, object] | None
"""Optional free-form data attached to an event and stored in its history record."""

INITIAL_STATE = "pending_payment"
"""State a freshly placed order starts in."""

STATES: tuple[str, ...] = (
    "pending_payment",
    "paid",
    "awaiting_shipment",
    "in_fulfilment",
    "shipped",
    "delivered",
    "completed",
)
"""Every state of the lifecycle, in order."""

PLACE_ACTORS: frozenset[str] = frozenset({"customer", "staff"})
"""Actor kinds allowed to place an order."""

LIFECYCLE: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("pay", "pending_payment", "paid", frozenset({"customer", "system"})),
    ("approve_review", "paid", "awaiting_shipment", frozenset({"staff", "system"})),
    ("start_fulfilment", "awaiting_shipment", "in_fulfilment", frozenset({"staff", "system"})),
    ("ship", "in_fulfilment", "shipped", frozenset({"staff"})),
    ("confirm_delivery", "shipped", "delivered", frozenset({"staff", "system"})),
    ("confirm_receipt", "delivered", "completed", frozenset({"customer", "system"})),
)
"""The state-changing events as ``(event, source, dest, allowed_actors)``, in order."""

ALLOWED_ACTORS: dict[str, frozenset[str]] = {
    "place": PLACE_ACTORS,
    **{event: actors for event, _source, _dest, actors in LIFECYCLE},
}
"""Allowed actor kinds per event name, including ``place``."""

COMMANDS_PER_LIFECYCLE = len(LIFECYCLE)
"""Number of state-changing commands in one complete lifecycle (six)."""

_AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


class TransitionRefusedError(Exception):
    """Raised when an event is refused by a state, actor or shipment guard."""


class HistoryRecord(NamedTuple):
    """One entry of an order's history: a single applied event."""

    from_state: str | None
    to_state: str
    event: str
    actor: str
    at: datetime
    data: EventPayload


class Order:
    """A plain mutable order with ``__slots__``, driven by the bare and shared baselines."""

    __slots__ = ("carrier", "history", "id", "state", "tracking")

    id: str
    state: str
    history: list[HistoryRecord]
    carrier: str | None
    tracking: str | None

    def __init__(self, order_id: str, state: str = INITIAL_STATE) -> None:
        """Create an order in ``state`` with an empty history."""
        self.id = order_id
        self.state = state
        self.history = []
        self.carrier = None
        self.tracking = None

    def __repr__(self) -> str:
        """Show the id and current state."""
        return f"{type(self).__name__}(id={self.id!r}, state={self.state!r})"


class NaiveOrder(Order):
    """An order with a ``__dict__`` so a per-order ``transitions.Machine`` can attach methods.

    The annotations below only describe the trigger methods ``transitions`` binds to each
    instance; they create no class attributes, so ``transitions`` does not skip binding them.
    """

    trigger: Callable[..., bool]
    pay: Callable[..., bool]
    approve_review: Callable[..., bool]
    start_fulfilment: Callable[..., bool]
    ship: Callable[..., bool]
    confirm_delivery: Callable[..., bool]
    confirm_receipt: Callable[..., bool]


# -- guard and history helpers shared by all baselines ----------------------------------------


def _refuse_actor(event: str, actor: str) -> TransitionRefusedError:
    return TransitionRefusedError(f"actor kind {actor!r} may not {event}")


def _shipment_details(data: EventPayload) -> tuple[str, str]:
    """Return ``(carrier, tracking)`` from ship data or refuse if either is missing/empty."""
    if data is None:
        raise TransitionRefusedError("ship requires a carrier and a tracking number")
    carrier = data.get("carrier")
    tracking = data.get("tracking")
    if not isinstance(carrier, str) or not carrier:
        raise TransitionRefusedError("ship requires a non-empty carrier")
    if not isinstance(tracking, str) or not tracking:
        raise TransitionRefusedError("ship requires a non-empty tracking number")
    return carrier, tracking


def _place(order: Order, actor: str, at: datetime, data: EventPayload) -> None:
    """Guard the ``place`` actor and record the creation of ``order``."""
    if actor not in PLACE_ACTORS:
        raise _refuse_actor("place", actor)
    order.history.append(HistoryRecord(None, order.state, "place", actor, at, data))


# -- baseline 1: hand-written dict table --------------------------------------------------------


class BareTableMachine:
    """Hand-written ``{(state, event): (dest, allowed_actors)}`` table: a bare state change."""

    __slots__ = ("table",)

    def __init__(self) -> None:
        """Build the transition table from ``LIFECYCLE``."""
        self.table: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
            (source, event): (dest, actors) for event, source, dest, actors in LIFECYCLE
        }

    def place(self, order_id: str, actor: str, at: datetime, data: EventPayload = None) -> Order:
        """Create an order in ``pending_payment`` and record the ``place`` event."""
        order = Order(order_id)
        _place(order, actor, at, data)
        return order

    def fire(
        self, order: Order, event: str, actor: str, at: datetime, data: EventPayload = None
    ) -> None:
        """Apply ``event`` to ``order`` after the state, actor and shipment guards."""
        source = order.state
        entry = self.table.get((source, event))
        if entry is None:
            raise TransitionRefusedError(f"{event!r} is not allowed from state {source!r}")
        dest, actors = entry
        if actor not in actors:
            raise _refuse_actor(event, actor)
        if event == "ship":
            order.carrier, order.tracking = _shipment_details(data)
        order.history.append(HistoryRecord(source, dest, event, actor, at, data))
        order.state = dest


# -- transitions-based baselines ----------------------------------------------------------------


def _tr_guard(event_data: EventData) -> bool:
    """``transitions`` condition: refuse a disallowed actor or incomplete ship data."""
    event = event_data.event.name
    kwargs = event_data.kwargs
    actor = kwargs["actor"]
    if actor not in ALLOWED_ACTORS[event]:
        raise _refuse_actor(event, actor)
    if event == "ship":
        _shipment_details(kwargs.get("data"))
    return True


def _tr_record(event_data: EventData) -> None:
    """``transitions`` after-callback: append the history record (and shipment details)."""
    transition = event_data.transition
    assert transition is not None
    order = cast(Order, event_data.model)
    event = event_data.event.name
    kwargs = event_data.kwargs
    data: EventPayload = kwargs.get("data")
    if event == "ship" and data is not None:
        # Already validated by _tr_guard.
        order.carrier = cast(str, data["carrier"])
        order.tracking = cast(str, data["tracking"])
    order.history.append(
        HistoryRecord(transition.source, order.state, event, kwargs["actor"], kwargs["at"], data)
    )


_TRANSITIONS_CONFIG: list[TransitionConfigDict] = [
    {
        "trigger": event,
        "source": source,
        "dest": dest,
        "conditions": _tr_guard,
        "after": _tr_record,
    }
    for event, source, dest, _actors in LIFECYCLE
]


def _new_machine(model: Order | None) -> Machine:
    return Machine(
        model=model,
        states=list(STATES),
        transitions=_TRANSITIONS_CONFIG,
        initial=INITIAL_STATE,
        auto_transitions=False,
        send_event=True,
    )


class SharedTransitionsMachine:
    """One ``transitions.Machine(model=None)`` shared by all orders; orders only hold state."""

    __slots__ = ("machine",)

    def __init__(self) -> None:
        """Build the single shared machine."""
        self.machine: Machine = _new_machine(None)

    def place(self, order_id: str, actor: str, at: datetime, data: EventPayload = None) -> Order:
        """Create an order in ``pending_payment`` and record the ``place`` event."""
        order = Order(order_id)
        _place(order, actor, at, data)
        return order

    def fire(
        self, order: Order, event: str, actor: str, at: datetime, data: EventPayload = None
    ) -> None:
        """Trigger ``event`` on ``order`` through the shared machine's event object."""
        trigger = self.machine.events.get(event)
        if trigger is None:
            raise TransitionRefusedError(f"unknown event {event!r}")
        trigger.trigger(order, actor=actor, at=at, data=data)


class NaiveMachinePerOrder:
    """The naive way: a new ``transitions.Machine(model=order)`` built for every order."""

    __slots__ = ()

    def place(
        self, order_id: str, actor: str, at: datetime, data: EventPayload = None
    ) -> NaiveOrder:
        """Create an order, record the ``place`` event, and attach the order's own machine."""
        order = NaiveOrder(order_id)
        _place(order, actor, at, data)
        _new_machine(order)
        return order

    def fire(
        self, order: NaiveOrder, event: str, actor: str, at: datetime, data: EventPayload = None
    ) -> None:
        """Trigger ``event`` through the ``trigger`` method bound to ``order``."""
        order.trigger(event, actor=actor, at=at, data=data)


# -- ready-made setup/run functions for the benchmark ------------------------------------------

_BARE = BareTableMachine()
_SHARED = SharedTransitionsMachine()
_NAIVE = NaiveMachinePerOrder()


def _order_id(i: int) -> str:
    return f"order-{i:06d}"


def _ship_data(i: int) -> dict[str, object]:
    return {"carrier": "DHL", "tracking": f"TRK{i:08d}"}


def bare_setup(i: int) -> Order:
    """Place order ``i`` with the bare table baseline."""
    return _BARE.place(_order_id(i), "customer", _AT)


def bare_run(i: int) -> Order:
    """Place order ``i`` and run all six lifecycle events with the bare table baseline."""
    order = _BARE.place(_order_id(i), "customer", _AT)
    fire = _BARE.fire
    fire(order, "pay", "customer", _AT)
    fire(order, "approve_review", "staff", _AT)
    fire(order, "start_fulfilment", "staff", _AT)
    fire(order, "ship", "staff", _AT, _ship_data(i))
    fire(order, "confirm_delivery", "system", _AT)
    fire(order, "confirm_receipt", "customer", _AT)
    return order


def shared_setup(i: int) -> Order:
    """Place order ``i`` for the shared ``transitions`` machine."""
    return _SHARED.place(_order_id(i), "customer", _AT)


def shared_run(i: int) -> Order:
    """Place order ``i`` and run all six events through the shared ``transitions`` machine."""
    order = _SHARED.place(_order_id(i), "customer", _AT)
    events = _SHARED.machine.events
    events["pay"].trigger(order, actor="customer", at=_AT, data=None)
    events["approve_review"].trigger(order, actor="staff", at=_AT, data=None)
    events["start_fulfilment"].trigger(order, actor="staff", at=_AT, data=None)
    events["ship"].trigger(order, actor="staff", at=_AT, data=_ship_data(i))
    events["confirm_delivery"].trigger(order, actor="system", at=_AT, data=None)
    events["confirm_receipt"].trigger(order, actor="customer", at=_AT, data=None)
    return order


def naive_setup(i: int) -> NaiveOrder:
    """Place order ``i`` with its own freshly built ``transitions`` machine."""
    return _NAIVE.place(_order_id(i), "customer", _AT)


def naive_run(i: int) -> NaiveOrder:
    """Place order ``i`` with its own machine and run all six events as model methods."""
    order = _NAIVE.place(_order_id(i), "customer", _AT)
    order.pay(actor="customer", at=_AT, data=None)
    order.approve_review(actor="staff", at=_AT, data=None)
    order.start_fulfilment(actor="staff", at=_AT, data=None)
    order.ship(actor="staff", at=_AT, data=_ship_data(i))
    order.confirm_delivery(actor="system", at=_AT, data=None)
    order.confirm_receipt(actor="customer", at=_AT, data=None)
    return order


BASELINES: dict[str, tuple[Callable[[int], Order], Callable[[int], Order]]] = {
    "bare_table": (bare_run, bare_setup),
    "shared_transitions": (shared_run, shared_setup),
    "naive_machine_per_order": (naive_run, naive_setup),
}
"""Baseline name -> ``(run, setup)``; ``run(i)`` is setup plus the six events for order ``i``."""


# -- measuring helpers -------------------------------------------------------------------------

_REPEATS = 5


def _best_ns(func: Callable[[int], object], orders: int) -> int:
    """Best wall time in nanoseconds, over ``_REPEATS`` runs, of ``func(i)`` for each order."""
    best: int | None = None
    for _ in range(_REPEATS):
        gc.collect()
        start = time.perf_counter_ns()
        for i in range(orders):
            func(i)
        elapsed = time.perf_counter_ns() - start
        if best is None or elapsed < best:
            best = elapsed
    assert best is not None
    return best


def measure_lifecycle(run_one: Callable[[int], object], orders: int) -> float:
    """Microseconds per command: best-of-5 time of ``run_one`` over ``orders``, / (orders * 6).

    The time includes the per-order setup done by ``run_one``, amortised over its commands.
    """
    return _best_ns(run_one, orders) / 1000.0 / (orders * COMMANDS_PER_LIFECYCLE)


def measure_setup(make_one: Callable[[int], object], orders: int) -> float:
    """Microseconds to set up one order: best-of-5 time of ``make_one`` over ``orders``."""
    return _best_ns(make_one, orders) / 1000.0 / orders


def bytes_per_order(make_one: Callable[[int], object], orders: int) -> float:
    """Bytes retained per order (tracemalloc) when ``orders`` orders are created and kept."""
    gc.collect()
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        before, _peak = tracemalloc.get_traced_memory()
        kept = [make_one(i) for i in range(orders)]
        gc.collect()
        after, _peak = tracemalloc.get_traced_memory()
    finally:
        if started_here:
            tracemalloc.stop()
    return (after - before) / len(kept)


_O = TypeVar("_O", bound=Order)


def _check_refusals(
    name: str,
    place: Callable[[str, str, datetime], _O],
    fire: Callable[[_O, str, str, datetime, EventPayload], None],
) -> None:
    """Check one baseline refuses a wrong state, a wrong actor and incomplete ship data."""
    order = place("x", "customer", _AT)
    bad_events: tuple[tuple[str, str, EventPayload], ...] = (
        ("ship", "staff", {"carrier": "DHL", "tracking": "T1"}),  # wrong state
        ("pay", "staff", None),  # wrong actor
    )
    for event, actor, data in bad_events:
        try:
            fire(order, event, actor, _AT, data)
        except (TransitionRefusedError, MachineError):
            pass
        else:
            raise AssertionError(f"{name} accepted {event} by {actor}")
    fire(order, "pay", "customer", _AT, None)
    fire(order, "approve_review", "staff", _AT, None)
    fire(order, "start_fulfilment", "staff", _AT, None)
    incomplete_ship_data: tuple[EventPayload, ...] = (
        None,
        {"carrier": "DHL"},
        {"carrier": "", "tracking": "T1"},
    )
    for data in incomplete_ship_data:
        try:
            fire(order, "ship", "staff", _AT, data)
        except TransitionRefusedError:
            pass
        else:
            raise AssertionError(f"{name} shipped with {data}")
    assert order.state == "in_fulfilment", (name, order.state)
    assert len(order.history) == 4, (name, order.history)


def _self_check() -> None:
    """Check every baseline completes a lifecycle and refuses bad events."""
    for name, (run, _setup) in BASELINES.items():
        order = run(7)
        assert order.state == "completed", (name, order.state)
        assert [r.event for r in order.history] == ["place", *(e[0] for e in LIFECYCLE)], name
        assert (order.carrier, order.tracking) == ("DHL", "TRK00000007"), name
    bare = BareTableMachine()
    shared = SharedTransitionsMachine()
    naive = NaiveMachinePerOrder()
    _check_refusals("bare_table", bare.place, bare.fire)
    _check_refusals("shared_transitions", shared.place, shared.fire)
    _check_refusals("naive_machine_per_order", naive.place, naive.fire)


def main(orders: int = 2000) -> None:
    """Print us/command, us/setup and bytes/order for each baseline."""
    _self_check()
    print(f"orders={orders}, best of {_REPEATS}, {COMMANDS_PER_LIFECYCLE} commands per lifecycle")
    header = f"{'baseline':<26}{'us/command':>12}{'us/setup':>12}{'bytes/order':>14}"
    print(header)
    print("-" * len(header))
    for name, (run, setup) in BASELINES.items():
        per_command = measure_lifecycle(run, orders)
        per_setup = measure_setup(setup, orders)
        per_order = bytes_per_order(setup, orders)
        print(f"{name:<26}{per_command:>12.3f}{per_setup:>12.3f}{per_order:>14,.0f}")


if __name__ == "__main__":
    main()
