"""What the lifecycle says when a command has no transition from the order's state.

:data:`STATE_REFUSALS` gives, for a command and a state, the refusal an agent can read to the
customer, with what to do instead; :data:`ACTOR_REFUSALS` does the same for one kind of actor.
A held order is judged by the state it was held from (D-13). Commands and states without an
entry get the engine's generic refusals (``<command>.order_final``, ``<command>.on_hold``,
``<command>.invalid_state``).
"""

from __future__ import annotations

from orderflow import commands as c
from orderflow.aftersales.followups import RefundMoneyOnly
from orderflow.engine import RefusalText, State
from orderflow.model import ActorKind, OrderState

__all__ = ["ACTOR_REFUSALS", "STATE_REFUSALS"]

S = OrderState
_AFTER_SALES = "Open an after-sales case (a return or a refund) instead."
_RELEASE_FIRST = "Resolve the exception case and release the hold first."

STATE_REFUSALS: dict[tuple[type[c.Command], State], RefusalText] = {
    (c.Close, S.IN_FULFILMENT): RefusalText(
        "in_fulfilment",
        "The warehouse is packing this order, so it cannot be closed now.",
        "Withdraw the order from fulfilment first, then close it.",
        "CL-1, D-2",
    ),
    (c.Close, S.SHIPPED): RefusalText(
        "already_shipped",
        "The order has already shipped, so it cannot be closed.",
        _AFTER_SALES,
        "CL-1",
    ),
    (c.Close, S.DELIVERED): RefusalText(
        "already_delivered",
        "The order has already been delivered, so it cannot be closed.",
        _AFTER_SALES,
        "CL-1",
    ),
    (c.Close, S.COMPLETED): RefusalText(
        "already_completed",
        "The order is completed, so it cannot be closed.",
        _AFTER_SALES,
        "CL-1, LC-9",
    ),
    (c.Close, S.CLOSED): RefusalText(
        "already_closed",
        "The order is already closed.",
        "Nothing to do: look at the order's closure for the reason.",
        "D-3",
    ),
    **{
        (c.Ship, state): RefusalText(
            "not_ready",
            "The order is not ready to ship: the warehouse has not started on it.",
            "Pass the review and start fulfilment first.",
            "LC-1",
        )
        for state in (S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT)
    },
    (c.Ship, S.ON_HOLD): RefusalText(
        "on_hold",
        "The order is on hold and cannot ship until the hold is released.",
        _RELEASE_FIRST,
        "LC-6",
    ),
    **{
        (c.Ship, state): RefusalText(
            "already_shipped",
            "The order has already shipped.",
            "Nothing to do: the tracking number is on the order.",
            "LC-3",
        )
        for state in (S.SHIPPED, S.DELIVERED, S.COMPLETED)
    },
    **{
        (command, state): RefusalText(
            "locked_after_payment",
            "The price can only be changed before the order is paid.",
            "After payment a price error is an exception: open a price-error case.",
            "LC-5",
        )
        for command in (c.ChangePrice, c.ChangeLines)
        for state in OrderState
        if state is not S.PENDING_PAYMENT
    },
    **{
        (c.ChangeAddress, state): RefusalText(
            "already_shipped",
            "The parcel is already with the carrier, so the address cannot be changed here.",
            "Ask the carrier to redirect it: open a logistics exception case.",
            "LC-7",
        )
        for state in (S.SHIPPED, S.DELIVERED, S.COMPLETED)
    },
    **{
        (c.Hold, state): RefusalText(
            "already_shipped",
            "The order has already shipped and cannot be held.",
            "Open an exception case with the carrier instead.",
            "LC-6",
        )
        for state in (S.SHIPPED, S.DELIVERED)
    },
    (c.Hold, S.ON_HOLD): RefusalText(
        "already_held", "The order is already on hold.", "Nothing to do.", "LC-6"
    ),
    (c.ApproveReview, S.PENDING_PAYMENT): RefusalText(
        "not_paid",
        "The order has not been paid yet, so it cannot pass review.",
        "Wait for the payment.",
        "LC-2",
    ),
    (c.ApproveReview, S.ON_HOLD): RefusalText(
        "on_hold",
        "The order is on hold and cannot pass review until it is released.",
        _RELEASE_FIRST,
        "LC-6",
    ),
    (c.ConfirmReceipt, S.SHIPPED): RefusalText(
        "not_delivered",
        "The carrier has not reported the parcel delivered yet.",
        "Wait for delivery, or ask the carrier to confirm it.",
        "LC-4",
    ),
    (c.AutoConfirmReceipt, S.SHIPPED): RefusalText(
        "not_delivered",
        "The carrier has not reported the parcel delivered yet.",
        "Wait for delivery.",
        "LC-4",
    ),
    # A payment that reaches a paid or closed order is recorded and refunded (RK-3, D-10),
    # but it is not something anyone is offered to do: these say why.
    **{
        (c.Pay, state): RefusalText(
            "already_paid",
            "The order is already paid.",
            "A payment that arrives anyway is recorded and refunded.",
            "RK-3, D-3",
        )
        for state in (
            S.PAID,
            S.AWAITING_SHIPMENT,
            S.IN_FULFILMENT,
            S.SHIPPED,
            S.DELIVERED,
            S.COMPLETED,
        )
    },
    (c.Pay, S.CLOSED): RefusalText(
        "order_closed",
        "The order is closed and takes no payment.",
        "A payment that arrives anyway is recorded and refunded.",
        "D-10",
    ),
    **{
        (RefundMoneyOnly, state): RefusalText(
            "shipped",
            "The order has shipped, so money goes back through an after-sales case.",
            "Open an after-sales case (a refund only, a return) instead.",
            "AS-7, D-5",
        )
        for state in (S.SHIPPED, S.DELIVERED, S.COMPLETED)
    },
    (RefundMoneyOnly, S.PENDING_PAYMENT): RefusalText(
        "not_paid",
        "Nothing has been paid on this order yet, so there is nothing to refund.",
        "Change the price or the lines instead.",
        "AS-7",
    ),
}
"""The refusal for a command in a state it has no transition from (or none offered)."""

ACTOR_REFUSALS: dict[tuple[type[c.Command], State, ActorKind], RefusalText] = {
    (c.Close, S.IN_FULFILMENT, ActorKind.CUSTOMER): RefusalText(
        "preparation_started",
        "The warehouse has started preparing this order, so it can no longer be cancelled online.",
        "Contact customer service, who can still stop the order before it ships.",
        "CL-6",
    ),
    (c.Close, S.ON_HOLD, ActorKind.CUSTOMER): RefusalText(
        "on_hold",
        "The order is on hold with customer service, so it cannot be cancelled online.",
        "Contact customer service, who can close it.",
        "D-13",
    ),
}
"""Refusals for one kind of actor, which come before :data:`STATE_REFUSALS`."""
