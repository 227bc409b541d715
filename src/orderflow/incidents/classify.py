"""The classifier of order exceptions (EX-2): an ordered list of detectors.

:meth:`Classifier.classify` runs every detector on an order and the
:class:`~orderflow.incidents.context.Context` the host gathered, and returns every finding,
in detector order. Classifiers are immutable: :meth:`~Classifier.with_detector`,
:meth:`~Classifier.without` and :meth:`~Classifier.replacing` return new ones, so a host adds,
removes or replaces checks (or changes a threshold by replacing a detector with one
configured otherwise) without touching the library::

    classifier = Classifier.default().replacing(
        "RK-1-customer", CustomerFrequencyDetector(threshold=10)
    )
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput, OrderflowError
from orderflow.incidents.context import Context, Lookback
from orderflow.incidents.detectors import (
    CustomerInfoDetector,
    Detector,
    OutOfStockDetector,
    PriceErrorDetector,
)
from orderflow.incidents.model import Finding
from orderflow.incidents.risk import (
    AddressAccountsDetector,
    CustomerFrequencyDetector,
    DuplicateOrderDetector,
    DuplicatePaymentDetector,
    LatePaymentDetector,
)
from orderflow.incidents.tracking import TrackingDetector
from orderflow.inputs import check_identifier, check_time

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = ["DEFAULT_DETECTORS", "Classifier"]

DEFAULT_DETECTORS: Final[tuple[Detector, ...]] = (
    CustomerInfoDetector(),
    OutOfStockDetector(),
    PriceErrorDetector(),
    DuplicateOrderDetector(),
    CustomerFrequencyDetector(),
    AddressAccountsDetector(),
    DuplicatePaymentDetector(),
    LatePaymentDetector(),
    TrackingDetector(),
)
"""The library's detectors with their default thresholds, in the order they run."""
_MOST_DETECTORS: Final = 200


def _detectors(value: Iterable[Detector]) -> tuple[Detector, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidConfiguration("classifier.detectors", value, "must be a sequence")
    detectors = tuple(value)
    if len(detectors) > _MOST_DETECTORS:
        raise InvalidConfiguration(
            "classifier.detectors", len(detectors), f"at most {_MOST_DETECTORS} detectors"
        )
    ids: set[str] = set()
    for index, detector in enumerate(detectors):
        setting = f"classifier.detectors[{index}]"
        if not isinstance(detector, Detector) or not callable(detector.detect):
            raise InvalidConfiguration(
                setting, detector, "a detector has a detector_id and a detect method"
            )
        detector_id = detector.detector_id
        try:
            check_identifier("detector_id", detector_id)
        except InvalidInput as error:
            raise InvalidConfiguration(setting, detector_id, error.problem) from None
        if detector_id in ids:
            raise InvalidConfiguration(setting, detector_id, "names a detector id twice")
        ids.add(detector_id)
    return detectors


_ORDER: list[type] = []


def _order_type() -> type:
    """The Order class, imported when first needed (the order aggregate may import this
    package)."""
    if not _ORDER:
        from orderflow.order import Order

        _ORDER.append(Order)
    return _ORDER[0]


def _findings(index: int, detector: Detector, result: object) -> tuple[Finding, ...]:
    """A detector's result as a tuple of findings, each checked to carry its id."""
    setting = f"classifier.detectors[{index}]"
    found: tuple[Any, ...]
    if isinstance(result, Finding):
        found = (result,)
    elif isinstance(result, tuple):
        found = result
    else:
        raise InvalidConfiguration(
            setting, result, "detect returns a Finding, a tuple of findings or None"
        )
    detector_id = detector.detector_id
    for item in found:
        if not isinstance(item, Finding):
            raise InvalidConfiguration(setting, item, "detect returns findings only")
        if item.detector != detector_id:
            raise InvalidConfiguration(
                setting, item.detector, "a finding carries its detector's id"
            )
    return found


@attrs.frozen
class Classifier:
    """An ordered list of detectors that finds every exception of an order (EX-2).

    Attributes:
        detectors: the detectors, in the order they run (default
            :data:`DEFAULT_DETECTORS`).

    Raises:
        InvalidConfiguration: an object that is not a detector (a ``detector_id`` and a
            ``detect`` method), a blank, overlong or repeated id, more than 200 detectors.
    """

    detectors: tuple[Detector, ...] = attrs.field(default=DEFAULT_DETECTORS, converter=_detectors)

    @classmethod
    def default(cls) -> Classifier:
        """The classifier of the library's detectors with their default thresholds."""
        return cls(DEFAULT_DETECTORS)

    @property
    def detector_ids(self) -> tuple[str, ...]:
        """The ids of the detectors, in order."""
        return tuple(detector.detector_id for detector in self.detectors)

    @property
    def lookback(self) -> Lookback:
        """How far back the context's recent orders must reach for these detectors: the
        longest :class:`~orderflow.incidents.context.Lookback` any of them declares (as a
        ``lookback`` property)."""
        covered = Lookback()
        for detector in self.detectors:
            needs = getattr(detector, "lookback", None)
            if isinstance(needs, Lookback):
                covered = covered.covering(needs)
        return covered

    def _index(self, detector_id: str, setting: str) -> int:
        for index, detector in enumerate(self.detectors):
            if detector.detector_id == detector_id:
                return index
        raise InvalidConfiguration(setting, detector_id, "no detector has this id")

    def detector(self, detector_id: str) -> Detector:
        """The detector with this id.

        Raises:
            InvalidConfiguration: no detector has this id.
        """
        return self.detectors[self._index(detector_id, "detector_id")]

    def with_detector(self, detector: Detector, before: str | None = None) -> Classifier:
        """A classifier with one more detector: last, or just before the one ``before``.

        Raises:
            InvalidConfiguration: not a detector, its id is taken, or no detector has the id
                ``before``.
        """
        at = len(self.detectors) if before is None else self._index(before, "before")
        return Classifier((*self.detectors[:at], detector, *self.detectors[at:]))

    def without(self, detector_id: str) -> Classifier:
        """A classifier without the detector ``detector_id``.

        Raises:
            InvalidConfiguration: no detector has this id.
        """
        at = self._index(detector_id, "detector_id")
        return Classifier((*self.detectors[:at], *self.detectors[at + 1 :]))

    def replacing(self, detector_id: str, detector: Detector) -> Classifier:
        """A classifier with ``detector`` in the place of the detector ``detector_id`` (its
        id may differ).

        Raises:
            InvalidConfiguration: no detector has the id ``detector_id``, ``detector`` is not
                a detector, or its id is another detector's.
        """
        at = self._index(detector_id, "detector_id")
        return Classifier((*self.detectors[:at], detector, *self.detectors[at + 1 :]))

    def classify(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """Run every detector on an order and return every finding, in detector order.

        The library's detectors accept any valid order in any state with any valid context.
        A detector that raises one of the library's errors lets it through (an
        :class:`~orderflow.errors.InvalidInput` says what in the context is wrong); an
        ``AssertionError`` is a bug and goes through too; anything else a detector raises,
        or returns, is a problem of the classifier's configuration.

        Args:
            order: the order.
            context: what the host knows around it (from
                :func:`~orderflow.incidents.context.gather_context`, or ``Context()`` for no
                data).
            at: when it is classified.

        Returns:
            Every finding, possibly none.

        Raises:
            InvalidInput: ``order`` is not an Order, ``context`` not a Context, ``at`` not an
                aware time in range; or a detector found the context malformed.
            InvalidConfiguration: a detector raised an error that is not the library's, or
                returned something other than findings carrying its id.
        """
        if not isinstance(order, _order_type()):
            raise InvalidInput("order", order, "must be an Order")
        if not isinstance(context, Context):
            raise InvalidInput("context", context, "must be a Context")
        check_time("at", at)
        return self.run(order, context, at)

    def run(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """:meth:`classify` for arguments already checked (the review's: an order the engine
        holds, the context the service gathered, the command's time).

        Raises:
            InvalidInput: a detector found the context malformed.
            InvalidConfiguration: see :meth:`classify`.
        """
        found: list[Finding] = []
        for index, detector in enumerate(self.detectors):
            try:
                result = detector.detect(order, context, at)
            except (OrderflowError, AssertionError):
                raise
            except Exception as error:
                raise InvalidConfiguration(
                    f"classifier.detectors[{index}]",
                    detector.detector_id,
                    f"detect raised {type(error).__name__}",
                ) from error
            if result is None:
                continue
            if result.__class__ is tuple and not result:
                continue
            found.extend(_findings(index, detector, result))
        return tuple(found)
