"""The outbox port (PT-1, NT-2, D-14): the effects an order's changes produce, kept by the
store in the same transaction as the order and handed to the relay; the entries, their
statuses, the failure record and the entries a store writes with an order."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

import attrs

from orderflow.effects import Effect
from orderflow.errors import InvalidInput
from orderflow.order import Order

__all__ = [
    "ERROR_LIMIT",
    "Outbox",
    "OutboxEntry",
    "OutboxStatus",
    "clean_error",
    "outbox_entries",
]


class OutboxStatus(enum.StrEnum):
    """Where an outbox entry stands."""

    PENDING = "pending"
    """Waiting to be delivered (or retried at its ``next_attempt_at``)."""
    DELIVERED = "delivered"
    """Handed over (or dropped by the relay's configuration, which says so in the record)."""
    DEAD = "dead"
    """Parked: its attempts ran out, it has no route, or it cannot be read. An operator
    lists it with :meth:`Outbox.dead` and puts it back with :meth:`Outbox.requeue`."""


ERROR_LIMIT: Final = 500
"""The most characters of a delivery error an outbox keeps."""


def clean_error(error: object, limit: int = ERROR_LIMIT) -> str:
    """A delivery error as any store can keep it: NUL characters dropped, lone surrogates
    written as ``\\udXXX`` escapes, at most ``limit`` characters (cut with an ellipsis).

    Never raises: an object whose ``__str__`` raises gives a placeholder. Stores call it on
    every error they are given, whatever the caller already did (for store authors).

    Args:
        error: the error text (any object is turned into text first).
        limit: the most characters to keep (at least 2).

    Returns:
        The cleaned text.
    """
    if isinstance(error, str):
        text = error
    else:
        try:
            text = str(error)
        except Exception:
            text = "(the error's message could not be read)"
    if len(text) > limit * 8:  # no need to clean what is cut off anyway
        text = text[: limit * 8]
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:
        text = text[: max(limit, 2) - 1] + "\u2026"
    return text


@attrs.frozen
class OutboxEntry:
    """An effect waiting to be (or already) handed to the outside world (D-14).

    Attributes:
        id: the effect's stable id; hosts pass it on as their idempotency key.
        order_id: the order whose change produced it.
        version: the order version that change produced.
        effect: the effect itself. An entry whose stored document cannot be read back
            carries a bare :class:`~orderflow.effects.Effect` (order id, version and position
            only) and says why in ``last_error`` (``"unreadable: ..."``).
        created_at: when the change that produced it was saved.
        next_attempt_at: when it is due: ``created_at`` when written, the retry time after
            a failure; for a dead entry, when it was parked.
        status: pending, delivered or dead.
        attempts: how many deliveries failed (an operator's requeue starts it again at 0).
        last_error: the last delivery error (type and message, cleaned and bounded); for an
            entry delivered without a handler (a kind dropped by configuration), why.
        delivered_at: when it was delivered.
        claimed_by: the relay holding it for delivery, while its lease lasts.
        claimed_until: when that relay's lease ends; after it, another relay may take it.
    """

    id: str
    order_id: str
    version: int
    effect: Effect
    created_at: datetime
    next_attempt_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.created_at, takes_self=True)
    )
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    delivered_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None

    @property
    def kind(self) -> str:
        """The effect's kind (``"notify_customer"``, ``"request_refund"``, ...)."""
        return self.effect.kind


@runtime_checkable
class Outbox(Protocol):
    """The outbox half of a store: effects saved with the change that caused them (D-14).

    Contract:

    * Entries are written only by :meth:`OrderStore.add` and :meth:`OrderStore.save`, in the
      same transaction as the order change; never on their own. A new entry is pending and
      due at once (``next_attempt_at == created_at``), with no claim.
    * An entry's id is its effect's id. Writing an entry whose id exists already is a no-op
      (so a replayed command never duplicates an entry).
    * Relays take work with :meth:`claim`: atomically, so that of several relays (threads or
      processes) on one store, each due entry is claimed by one of them until its lease
      ends. A relay then records the result with :meth:`mark_delivered` or
      :meth:`mark_failed`, which end the claim. An entry whose lease ended without a result
      (its relay crashed or hung) is due again: delivery is at least once, and hosts drop
      duplicates by the entry's id.
    * No entry blocks the others: a failed entry waits until the ``retry_at`` its relay
      gave, an entry parked ``dead`` is never claimed again until an operator requeues it,
      and an entry whose stored document cannot be read is parked dead by :meth:`claim`
      with the reason, never raised.
    * Times are timezone-aware; stores compare them as UTC instants.
    """

    def claim(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[OutboxEntry]:
        """Atomically claim up to ``limit`` due entries for ``worker`` until ``now + lease``.

        Due: pending, ``next_attempt_at <= now`` and not claimed under a live lease
        (``claimed_until`` unset or ``<= now``). The entries first due (by
        ``next_attempt_at``, then ``created_at``, then the order they were written in) are
        claimed; they are returned oldest first (by ``created_at``, then written order) with
        ``claimed_by`` and ``claimed_until`` set. Entries whose stored document cannot be
        read are parked dead instead, with ``last_error`` ``"unreadable: <reason>"``, and are
        not returned.

        Args:
            worker: the claiming relay's name (1 to 100 characters).
            now: the current time (timezone-aware).
            limit: the most entries to claim (0 or more).
            lease: how long the claim holds (more than zero).

        Returns:
            The claimed entries.

        Raises:
            InvalidInput: a malformed worker, time, limit or lease; nothing is claimed.
            StoreError: the backend failed; nothing is claimed.
        """
        ...

    def mark_delivered(self, entry_id: str, at: datetime, *, note: str = "") -> None:
        """Record a delivery and end the claim (idempotent: marking twice changes nothing).

        A pending or dead entry becomes delivered, with ``last_error`` set to ``note``
        (cleaned and bounded; empty for an ordinary delivery). A delivered entry is left as
        it is.

        Args:
            entry_id: the entry's (its effect's) id.
            at: when it was delivered (timezone-aware).
            note: why it counts as delivered without a handler, if so.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def mark_failed(
        self, entry_id: str, error: str, at: datetime, *, retry_at: datetime | None
    ) -> None:
        """Record a failed delivery and end the claim: attempts + 1, ``last_error = error``.

        With ``retry_at`` the entry stays pending and is due again at ``retry_at``; with
        ``None`` it is parked dead (``next_attempt_at = at``). The error is cleaned (NUL
        characters dropped, lone surrogates escaped) and bounded by the store itself
        (:func:`clean_error`): no text makes this method raise. A delivered or dead entry is
        left as it is.

        Args:
            entry_id: the entry's id.
            error: what went wrong.
            at: when (timezone-aware).
            retry_at: when to try again, or ``None`` to park the entry dead.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` pending entries (claimed or not, due or not), for operators: by
        ``next_attempt_at``, then ``created_at``, then the order they were written in."""
        ...

    def dead(self, limit: int = 100, after_id: str | None = None) -> list[OutboxEntry]:
        """Up to ``limit`` dead entries, by id, starting after ``after_id`` (paging)."""
        ...

    def requeue(self, entry_id: str, at: datetime) -> bool:
        """Put a dead entry back: pending, due at ``at``, attempts counted again from 0 (its
        ``last_error`` stays until the next attempt). Idempotent: an entry that is not dead
        (pending or delivered) is left as it is.

        Args:
            entry_id: the entry's id.
            at: when it is due (timezone-aware).

        Returns:
            Whether a dead entry was put back.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def purge_delivered(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` delivered entries whose ``delivered_at`` is before
        ``before``; call again until it returns less than ``limit``. Pending and dead entries
        are never deleted. A purged entry's id is forgotten.

        Returns:
            How many entries were deleted.
        """
        ...

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, whatever its status, in the order they were written."""
        ...


def outbox_entries(order: Order, first_new_version: int = 1) -> list[OutboxEntry]:
    """The outbox entries a store writes with ``order`` (for store authors): one for every
    effect of the history entries from version ``first_new_version`` on, in order.

    ``add`` writes those of every entry (``first_new_version=1``), ``save`` those of the
    entries after the version it was given (``expected_version + 1``). Each is pending and due
    at the order's last change (``order.updated_at``).

    Args:
        order: the order being written.
        first_new_version: the version of the first history entry being written (1 or more).

    Returns:
        The entries, in the order of their history entries and, within one, of their effects.

    Raises:
        InvalidInput: ``first_new_version`` is not a whole number of 1 or more.
    """
    if (
        isinstance(first_new_version, bool)
        or not isinstance(first_new_version, int)
        or (first_new_version < 1)
    ):
        raise InvalidInput("first_new_version", first_new_version, "must be a whole number >= 1")
    created = order.updated_at
    return [
        OutboxEntry(effect.id, effect.order_id, effect.version, effect, created)
        for entry in order.history[first_new_version - 1 :]
        for effect in entry.effects
    ]
