"""Carrier tracking events, recorded on the order's shipment by a command (EX-2, TM-4).

Every event restarts the wait for the next one (TM-4: 72 hours without an update is an
exception); events that report trouble (lost, damaged, delayed, a wrong address, a customs
hold) open the matching exception case.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from orderflow.errors import InvalidInput
from orderflow.inputs import MAX_SHORT_TEXT_LENGTH, check_text, check_time

__all__ = ["TrackingEvent", "TrackingKind"]


class TrackingKind(enum.StrEnum):
    """What a carrier reports."""

    IN_TRANSIT = "in_transit"
    """An ordinary update: the parcel moves."""
    LOST = "lost"
    DAMAGED = "damaged"
    DELAYED = "delayed"
    WRONG_ADDRESS = "wrong_address"
    CUSTOMS_HOLD = "customs_hold"
    """A third party holds the parcel."""


def _kind(instance: object, attribute: attrs.Attribute[TrackingKind], value: object) -> None:
    if not isinstance(value, TrackingKind):
        raise InvalidInput("kind", value, "must be a TrackingKind")


def _at(instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    check_time("at", value)


def _note(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text("note", value, MAX_SHORT_TEXT_LENGTH)


@attrs.frozen
class TrackingEvent:
    """One carrier tracking event.

    Attributes:
        kind: what the carrier reports.
        at: when the carrier recorded it (timezone-aware).
        note: the carrier's words, if any (at most 200 characters).

    Raises:
        InvalidInput: a kind that is not a :class:`TrackingKind`, a naive or out-of-range
            time, an overlong note.
    """

    kind: TrackingKind = attrs.field(validator=_kind)
    at: datetime = attrs.field(validator=_at)
    note: str = attrs.field(default="", validator=_note)
