"""What a carrier reports about a parcel: tracking events (EX-1, TM-4).

A :class:`TrackingEvent` is one report of the carrier: the parcel was picked up, is in
transit, is delayed, lost, damaged, held at customs, cannot be delivered to the address, or
was delivered. Ordinary updates (picked up, in transit, out for delivery) are events too:
they show the parcel moving (and restart the no-update timer, TM-4). The exceptional ones
are what :class:`TrackingDetector` turns into findings (EX-1).

The records import nothing of the order, so that the order aggregate can keep the events it
records.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.incidents.context import Context
from orderflow.incidents.detectors import _detector_id, finding
from orderflow.incidents.model import EvidenceValue, ExceptionType, Finding
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_text, check_time, in_utc

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = ["TRACKING_TYPES", "TrackingDetector", "TrackingEvent", "TrackingKind", "no_events"]


class TrackingKind(enum.StrEnum):
    """What a tracking event reports."""

    PICKED_UP = "picked_up"
    """The carrier took the parcel."""
    IN_TRANSIT = "in_transit"
    """An ordinary update: the parcel is moving."""
    OUT_FOR_DELIVERY = "out_for_delivery"
    """The parcel is on its last leg."""
    DELIVERED = "delivered"
    """The carrier delivered the parcel."""
    DELAYED = "delayed"
    """The carrier reports the parcel late."""
    LOST = "lost"
    """The carrier lost the parcel."""
    DAMAGED = "damaged"
    """The parcel was damaged on its way."""
    WRONG_ADDRESS = "wrong_address"
    """The carrier cannot deliver to the address given."""
    CUSTOMS_HOLD = "customs_hold"
    """Customs (a third party) holds the parcel."""

    @property
    def is_exceptional(self) -> bool:
        """Whether the event reports something wrong (lost, damaged, delayed, wrong address,
        customs hold) rather than the parcel moving."""
        return self not in _ORDINARY


_ORDINARY = frozenset(
    {
        TrackingKind.PICKED_UP,
        TrackingKind.IN_TRANSIT,
        TrackingKind.OUT_FOR_DELIVERY,
        TrackingKind.DELIVERED,
    }
)


def _kind(instance: object, attribute: attrs.Attribute[TrackingKind], value: object) -> None:
    if not isinstance(value, TrackingKind):
        raise InvalidInput("tracking_event.kind", value, "must be a TrackingKind")


def _at(instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    check_time("tracking_event.at", value)


def _note(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text("tracking_event.note", value, MAX_LONG_TEXT_LENGTH)


@attrs.frozen
class TrackingEvent:
    """One report of the carrier about the parcel.

    Attributes:
        kind: what it reports.
        at: when the carrier reported it (aware; kept as the same instant in UTC).
        note: the carrier's words, if any; at most 2,000 characters (errors never quote it).

    Raises:
        InvalidInput: a kind that is not a :class:`TrackingKind`, a time that is naive or out
            of range, a note that is not text, too long, or holds a NUL or a lone surrogate.
    """

    kind: TrackingKind = attrs.field(validator=_kind)
    at: datetime = attrs.field(converter=in_utc, validator=_at)
    note: str = attrs.field(default="", validator=_note)


# -- the parcel (EX-1 logistics) ----------------------------------------------------------


TRACKING_TYPES: Final = {
    TrackingKind.LOST: ExceptionType.LOGISTICS_LOST,
    TrackingKind.DAMAGED: ExceptionType.LOGISTICS_DAMAGED,
    TrackingKind.DELAYED: ExceptionType.LOGISTICS_DELAYED,
    TrackingKind.WRONG_ADDRESS: ExceptionType.WRONG_ADDRESS,
    TrackingKind.CUSTOMS_HOLD: ExceptionType.THIRD_PARTY_HOLD,
}
"""The exception type each exceptional tracking event shows."""
_TRACKING_SUMMARIES: Final = {
    TrackingKind.LOST: "The carrier reports the parcel lost.",
    TrackingKind.DAMAGED: "The carrier reports the parcel damaged.",
    TrackingKind.DELAYED: "The carrier reports the parcel delayed.",
    TrackingKind.WRONG_ADDRESS: "The carrier cannot deliver to the address given.",
    TrackingKind.CUSTOMS_HOLD: "Customs holds the parcel.",
}
_CLEARED_BY_DELIVERY: Final = frozenset(TRACKING_TYPES) - {TrackingKind.DAMAGED}


def no_events(order: Order) -> tuple[TrackingEvent, ...]:
    """No tracking events (for a detector that should ignore them)."""
    return ()


def shipment_events(order: Order) -> tuple[TrackingEvent, ...]:
    """The tracking events recorded on the order's shipment (``RecordTracking``)."""
    return order.shipment.events if order.shipment is not None else ()


@attrs.frozen
class TrackingDetector:
    """Tracking events showing a parcel lost, damaged, delayed, at a wrong address or held
    by customs (EX-1): one finding per kind of trouble.

    For each exceptional kind, its latest event at or before the classification time makes a
    finding (lost -> ``logistics_lost``, damaged -> ``logistics_damaged``, delayed ->
    ``logistics_delayed``, wrong address -> ``wrong_address``, customs hold ->
    ``third_party_hold``), unless a later delivery cleared it (a delivery clears everything
    but damage). Ordinary updates (picked up, in transit, out for delivery) make no finding.
    Findings do not block review.

    Attributes:
        events: where the order's tracking events are read from (by default, the events
            recorded on its shipment).
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: ``events`` is not callable, a malformed id.
    """

    events: Callable[[Order], Sequence[TrackingEvent]] = attrs.field(
        default=shipment_events, eq=False, repr=False
    )
    detector_id: str = attrs.field(default="EX-1-tracking", validator=_detector_id)

    def __attrs_post_init__(self) -> None:
        if not callable(self.events):
            raise InvalidConfiguration("events", self.events, "must be callable")

    def detect(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """The findings of the order's tracking events (see :meth:`findings`).

        Raises:
            InvalidInput: the events read are not a sequence of :class:`TrackingEvent`.
        """
        events = self.events(order)
        if events == ():
            return ()
        return self.findings(events, at)

    def findings(self, events: Sequence[TrackingEvent], at: datetime) -> tuple[Finding, ...]:
        """The findings a sequence of tracking events shows at ``at``.

        Args:
            events: the parcel's events, in any order.
            at: when it is classified; later events are not read.

        Returns:
            One finding per exceptional kind still standing, in the order of
            :class:`~orderflow.incidents.tracking.TrackingKind`.

        Raises:
            InvalidInput: ``events`` is not a sequence of :class:`TrackingEvent`.
        """
        if isinstance(events, str | bytes) or not isinstance(events, Sequence):
            raise InvalidInput("tracking_events", events, "must be a sequence of events")
        latest: dict[TrackingKind, TrackingEvent] = {}
        for index, event in enumerate(events):
            if not isinstance(event, TrackingEvent):
                raise InvalidInput(f"tracking_events[{index}]", event, "must be a TrackingEvent")
            if event.at <= at:
                known = latest.get(event.kind)
                if known is None or known.at <= event.at:
                    latest[event.kind] = event
        delivered = latest.get(TrackingKind.DELIVERED)
        found = []
        for kind, exception in TRACKING_TYPES.items():
            report = latest.get(kind)
            if report is None:
                continue
            if delivered is not None and kind in _CLEARED_BY_DELIVERY and delivered.at > report.at:
                continue
            evidence: dict[str, EvidenceValue] = {"event": kind.value, "event_at": report.at}
            if report.note:
                evidence["note"] = report.note
            found.append(
                finding(
                    exception,
                    self.detector_id,
                    _TRACKING_SUMMARIES[kind],
                    evidence,
                    blocks_review=False,
                )
            )
        return tuple(found)
