"""The policy's side of a request: the facts the rules read, and the decision, made once per
command (AS-4).

A :class:`Decider` holds the shop's policy. An order placed under a snapshot is judged by the
policy's rules with the snapshot's settings (:meth:`~orderflow.aftersales.Policy.
for_snapshot`), so a later change of settings never reaches it. The case machine asks for a
request's decision twice (to choose the transition, then to apply it): the last decision is
kept, keyed by the very order, command and instant, so the rules run once.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from orderflow.aftersales.commands import RequestAfterSales
from orderflow.aftersales.configuration import PolicySettings
from orderflow.aftersales.decisions import Decision
from orderflow.aftersales.policy import Policy, PolicySnapshot
from orderflow.aftersales.quotes import Quote, request_quote
from orderflow.aftersales.requests import RequestFacts, request_facts, requested_line

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = ["Decider", "Judged"]

_MOST_POLICIES = 64


class Judged(NamedTuple):
    """A request, judged: what it would hold or refund, and the policy's decision.

    Attributes:
        quote: the lines and amounts (with the problem that refuses it, if any).
        decision: the policy's decision; ``None`` when the quote already refuses the request
            (the policy is not asked about a request the order cannot take).
    """

    quote: Quote
    decision: Decision | None


class Decider:
    """Decides after-sales requests with a policy (AS-4).

    Args:
        policy: the shop's policy: its rules judge every order; its settings those placed
            from now on.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._policies: dict[PolicySnapshot, Policy] = {}
        self._lock = threading.Lock()
        self._last: tuple[Order, RequestAfterSales, datetime, Judged] | None = None
        self._last_policy: tuple[PolicySnapshot, Policy] | None = None

    def policy_for(self, order: Order) -> Policy:
        """The policy an order is judged by: the rules, with the settings it was placed under."""
        snapshot = order.policy
        if snapshot is None:
            return self.policy
        last = self._last_policy
        if last is not None and last[0] is snapshot:  # orders placed alike share one snapshot
            return last[1]
        policy = self._policies.get(snapshot)
        if policy is None:
            policy = self.policy.for_snapshot(snapshot)
            with self._lock:
                if len(self._policies) >= _MOST_POLICIES:
                    self._policies.clear()
                self._policies[snapshot] = policy
        self._last_policy = (snapshot, policy)
        return policy

    def settings_for(self, order: Order) -> PolicySettings:
        """The settings an order runs its after-sales timers and windows by."""
        snapshot = order.policy
        return self.policy.settings if snapshot is None else snapshot.settings

    def facts(
        self, order: Order, command: RequestAfterSales, quote: Quote, at: datetime
    ) -> RequestFacts:
        """What the rules read about a request whose quote has no problem."""
        by_sku = {line.sku: line for line in order.lines}
        lines = tuple(
            requested_line(order_line, line.quantity or order_line.quantity)
            for line in quote.lines
            for order_line in (by_sku[line.sku],)
        )
        if not lines:  # an agreed amount of zero lines cannot happen; keep the facts whole
            lines = tuple(requested_line(line, line.quantity) for line in order.lines)
        shipment = order.shipment
        state = order.hold.from_state if order.hold is not None else order.state
        return request_facts(
            command.kind,
            command.reason,
            lines,
            quote.amount,
            shipment.delivered_at if shipment is not None else None,
            at,
            stated_unsealed=command.stated_unsealed,
            order_state=state.value,
            amount_note=quote.note,
        )

    def judge(self, order: Order, command: RequestAfterSales, at: datetime) -> Judged:
        """The quote and the decision for a request (kept for the next call with the very
        same order, command and instant)."""
        last = self._last
        if last is not None and last[0] is order and last[1] is command and last[2] == at:
            return last[3]
        quote = request_quote(order, command)
        decision = None
        if not quote.problem:
            decision = self.policy_for(order).decide(self.facts(order, command, quote, at))
        judged = Judged(quote, decision)
        self._last = (order, command, at, judged)
        return judged
