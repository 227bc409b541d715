"""A python-statemachine baseline of the order lifecycle, beside ``transitions``.

The same lifecycle and the same work as :mod:`baselines` (refuse an event the state does not
allow or an actor kind the event does not allow, require a carrier and tracking number to
ship, append a ``HistoryRecord``, set the new state), written the way python-statemachine is
meant to be used: a ``StateMachine`` class with one instance per order, bound to the order as
its model, guards as validators and the record written by ``on_transition``.

python-statemachine is a development dependency of orderflow (the ``dev`` extra), used here
only. When it is not installed the baseline reports itself missing and the lifecycle benchmark
prints the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from baselines import (
    ALLOWED_ACTORS,
    INITIAL_STATE,
    HistoryRecord,
    Order,
    TransitionRefusedError,
)

__all__ = ["AVAILABLE", "VERSION", "statemachine_run", "statemachine_setup"]

_AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)

try:
    import statemachine
    from statemachine import State, StateMachine
except ImportError:  # pragma: no cover - the dev extra installs it
    AVAILABLE = False
    VERSION = ""
else:
    AVAILABLE = True
    VERSION = getattr(statemachine, "__version__", "")

    class LifecycleMachine(StateMachine):  # type: ignore[misc]
        """The six lifecycle events; one instance per order, bound to it as its model."""

        pending_payment = State(initial=True, value="pending_payment")
        paid = State(value="paid")
        awaiting_shipment = State(value="awaiting_shipment")
        in_fulfilment = State(value="in_fulfilment")
        shipped = State(value="shipped")
        delivered = State(value="delivered")
        completed = State(final=True, value="completed")

        pay = pending_payment.to(paid, validators="allowed")
        approve_review = paid.to(awaiting_shipment, validators="allowed")
        start_fulfilment = awaiting_shipment.to(in_fulfilment, validators="allowed")
        ship = in_fulfilment.to(shipped, validators=["allowed", "shippable"])
        confirm_delivery = shipped.to(delivered, validators="allowed")
        confirm_receipt = delivered.to(completed, validators="allowed")

        def allowed(self, event: str, actor: str) -> None:
            """Refuse an actor kind the event does not allow."""
            if actor not in ALLOWED_ACTORS[event]:
                raise TransitionRefusedError(f"{actor} may not {event}")

        def shippable(self, data: Any = None) -> None:
            """Refuse shipping without a carrier and a tracking number."""
            if not data or not data.get("carrier") or not data.get("tracking"):
                raise TransitionRefusedError("ship needs a carrier and a tracking number")

        def on_transition(
            self, event: str, source: State, target: State, actor: str, at: datetime,
            data: Any = None,
        ) -> None:  # fmt: skip
            """Record the event in the order's history (the state is set by the machine)."""
            order = self.model
            order.history.append(
                HistoryRecord(source.value, target.value, str(event), actor, at, data)
            )
            if event == "ship":
                order.carrier = data["carrier"]
                order.tracking = data["tracking"]


def statemachine_setup(i: int) -> Any:
    """Place order ``i`` and bind a new python-statemachine instance to it."""
    order = Order(f"order-{i:06d}")
    order.history.append(HistoryRecord(None, INITIAL_STATE, "place", "customer", _AT, None))
    return LifecycleMachine(model=order, state_field="state")


def statemachine_run(i: int) -> Order:
    """Place order ``i`` and send the six events through its python-statemachine."""
    machine = statemachine_setup(i)
    send: Callable[..., Any] = machine.send
    send("pay", actor="customer", at=_AT)
    send("approve_review", actor="staff", at=_AT)
    send("start_fulfilment", actor="staff", at=_AT)
    send("ship", actor="staff", at=_AT, data={"carrier": "DHL", "tracking": f"TRK{i:08d}"})
    send("confirm_delivery", actor="system", at=_AT)
    send("confirm_receipt", actor="customer", at=_AT)
    order: Order = machine.model
    return order
