"""Schema upgrades: how a document written by an older orderflow is read by this one.

Every document carries the ``schema_version`` of the layout it was written in. Loading runs
it through one explicit step per version, from its own up to the current one, and only then
structures it; so a document written by any earlier orderflow loads, and each layout change
adds exactly one step here, leaving the earlier ones untouched.

A step takes the kind of a document body (``"order"``, ``"entry"`` for one history entry kept
on its own, ``"command"``, ``"effect"``, ``"refusal"``, ``"command_refused"``) and the body
(without ``schema_version`` and ``document``), and returns the body in the next version's
layout. It never changes its input.

Versions:

1. The first layout.
2. A close reason is written whole (``code``, ``description``, ``needs_note``) instead of by
   its code, so that it loads in a process that never registered it; money in a currency the
   built-in ISO 4217 table lacks carries its ``minor_units``. A version-1 document names its
   close reasons by code only: loading one needs those codes known in this process, as
   version 1 always did (:meth:`orderflow.CloseReason.register`). Refunds: version 1 gave
   every retry a new idempotency key (D-17 came with version 2), so a version-1 refund failure
   reads as a known decline (``declined: true``) and a refund's current key is its last
   attempt's (``key_attempt`` = ``attempts``). The command placing an order is named
   ``place_order`` (every event name is its command's class name in snake case).
3. After-sales: an order carries its cases (``cases``, none before) and the policy it was
   placed under (``policy``); a version-2 order is given the default policy's snapshot
   (:meth:`orderflow.aftersales.Policy.default`), the policy every order placed before
   version 3 was judged by. A declined refund no longer counts as pending (it frees its room
   until retried, D-6), so the ledger's ``amount_refund_pending`` is recomputed from the
   refunds in flight (pending, or failed with an unknown outcome). History entries may name
   the cases a command moved (``cases``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from orderflow.errors import DocumentError, InvalidInput
from orderflow.model import CloseReason

__all__ = ["RENAMED_EVENTS", "STEPS", "upgrade"]

RENAMED_EVENTS: Final[Mapping[str, str]] = {"place": "place_order"}
"""Event names of earlier versions and what they are called now (a store's projections of
earlier rows keep the old names)."""

Body = dict[str, Any]
Step = Callable[[str, Body], Body]


def _whole_reason(reason: object, path: str) -> object:
    """A version-1 close reason (its code) as version 2 writes it (the reason whole)."""
    if not isinstance(reason, str):
        return reason  # left for the loader to refuse, naming the path
    try:
        known = CloseReason.of(reason)
    except InvalidInput:
        raise DocumentError(
            path,
            reason[:32],
            "a version-1 document names its close reason by code only, and this process "
            "knows no close reason with this code: register it before loading",
        ) from None
    return {"code": known.code, "description": known.description, "needs_note": known.needs_note}


def _command_1_to_2(body: Body, path: str) -> Body:
    renamed = RENAMED_EVENTS.get(str(body.get("type")))
    if renamed is not None:  # event names are class names in snake case
        return {**body, "type": renamed}
    if body.get("type") == "fail_refund" and "declined" not in body:
        return {**body, "declined": True}  # version 1 retried every failure with a new key
    if body.get("type") != "close" or "reason" not in body:
        return body
    return {**body, "reason": _whole_reason(body["reason"], f"{path}.reason")}


def _refund_1_to_2(refund: object) -> object:
    if not isinstance(refund, Mapping) or "key_attempt" in refund:
        return refund
    return {
        **refund,
        "key_attempt": refund.get("attempts", 1),
        "declined": refund.get("status") == "failed",
    }


def _entry_1_to_2(body: Body, path: str) -> Body:
    command = body.get("command")
    if not isinstance(command, Mapping):
        return body
    return {**body, "command": _command_1_to_2(dict(command), f"{path}.command")}


def _1_to_2(kind: str, body: Body) -> Body:
    if kind == "command":
        return _command_1_to_2(body, "$")
    if kind == "entry":
        return _entry_1_to_2(body, "$")
    if kind != "order":
        return body  # effects and refusals have no close reason: their layout is unchanged
    upgraded = dict(body)
    closure = body.get("closure")
    if isinstance(closure, Mapping) and "reason" in closure:
        upgraded["closure"] = {
            **closure,
            "reason": _whole_reason(closure["reason"], "$.closure.reason"),
        }
    ledger = body.get("ledger")
    if isinstance(ledger, Mapping) and isinstance(ledger.get("refunds"), list):
        upgraded["ledger"] = {
            **ledger,
            "refunds": [_refund_1_to_2(refund) for refund in ledger["refunds"]],
        }
    history = body.get("history")
    if isinstance(history, list):
        upgraded["history"] = [
            _entry_1_to_2(dict(entry), f"$.history[{index}]")
            if isinstance(entry, Mapping)
            else entry
            for index, entry in enumerate(history)
        ]
    return upgraded


def _default_snapshot() -> Any:
    # Imported here: the converter imports this module's readers.
    from orderflow.aftersales.policy import Policy
    from orderflow.converter import converter

    return converter.unstructure(Policy.default().snapshot())


def _pending(ledger: Mapping[str, Any]) -> object:
    """The amount of the refunds in flight that count against what was paid: pending, or
    failed with an unknown outcome."""
    refunds = ledger.get("refunds")
    pending = ledger.get("amount_refund_pending")
    if not isinstance(refunds, list) or not isinstance(pending, Mapping):
        return pending  # left for the loader to refuse, naming the path
    total = Decimal(0)
    for refund in refunds:
        if not isinstance(refund, Mapping):
            return pending
        if refund.get("counts_against_paid") is False:
            continue
        status = refund.get("status")
        if status != "pending" and not (status == "failed" and refund.get("declined") is False):
            continue
        amount = refund.get("amount")
        try:
            total += Decimal(str(amount["amount"])) if isinstance(amount, Mapping) else 0
        except (InvalidOperation, KeyError):
            return pending
    return {**pending, "amount": str(total)}


def _2_to_3(kind: str, body: Body) -> Body:
    if kind != "order":
        return body  # an entry's case is optional; commands and effects are unchanged
    upgraded = dict(body)
    upgraded.setdefault("cases", [])
    if upgraded.get("policy") is None:
        upgraded["policy"] = _default_snapshot()
    ledger = body.get("ledger")
    if isinstance(ledger, Mapping):
        upgraded["ledger"] = {**ledger, "amount_refund_pending": _pending(ledger)}
    return upgraded


STEPS: Final[Mapping[int, Step]] = {1: _1_to_2, 2: _2_to_3}
"""The step from each version to the next: ``STEPS[n]`` reads version ``n``, writes ``n + 1``."""


def upgrade(kind: str, body: Body, version: int, target: int) -> Body:
    """A document body of ``version`` in the layout of ``target``, one step at a time.

    Args:
        kind: what the body is (``"order"``, ``"entry"``, ``"command"``, ...).
        body: the body, without ``schema_version`` and ``document``; it is not changed.
        version: the version it was written in.
        target: the version to bring it to (this orderflow's).

    Returns:
        The upgraded body (``body`` itself when it is already at ``target``).

    Raises:
        DocumentError: a step cannot upgrade it (a version-1 close reason this process does
            not know).
    """
    while version < target:
        body = STEPS[version](kind, body)
        version += 1
    return body
