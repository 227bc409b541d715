"""Detectors: one small object per check of an order (EX-1, EX-2).

Each detector has an id, its thresholds as configuration (frozen, validated when it is built:
a bad value raises :class:`~orderflow.errors.InvalidConfiguration`) and one method,
``detect(order, context, at)``, that returns a :class:`~orderflow.incidents.model.Finding`, a
tuple of them, or ``None``. Detectors are pure: they read the order, the
:class:`~orderflow.incidents.context.Context` the host gathered and the time, nothing else.
They do not look at the order's state: the host (review, a command recording a tracking
event) decides when to classify.

This module holds the :class:`Detector` protocol and the checks of the order's own content
(customer details, stock, prices); :mod:`orderflow.incidents.risk` the checks that compare
it with other orders and its payments (RK-1..RK-3, D-10);
:mod:`orderflow.incidents.tracking` the check of the carrier's events.

Which findings block review (review, LC-2, puts the order on hold with one case per
blocking finding):

==========================  =====================  ==============  =========================
detector                    type                   blocks review   evidence
==========================  =====================  ==============  =========================
``EX-1-customer-info``      ``customer_info``      yes             field, missing, invalid
``EX-1-out-of-stock``       ``out_of_stock``       yes             sku, ordered, available
``EX-1-price``              ``price_error``        yes             sku, unit_price,
                                                                   list_price, ratio, floor,
                                                                   threshold
``RK-2-duplicate-order``    ``duplicate_order``    yes             earlier_order,
                                                                   earlier_placed_at,
                                                                   placed_at, window,
                                                                   threshold
``RK-1-customer``           ``suspected_fraud``    yes, freezes    count, window, threshold,
                                                                   window_start, placed_at
``RK-1-address``            ``suspected_fraud``    yes, freezes    (the same)
``RK-3-duplicate-payment``  ``duplicate_payment``  no              payment, amount,
                                                                   received_at
``D-10-late-payment``       ``payment_after_...``  no              (the same)
``EX-1-tracking``           ``logistics_*``,       no              event, event_at, note
                            ``wrong_address``,
                            ``third_party_hold``
==========================  =====================  ==============  =========================

``threshold`` is always the detector's configured limit: the ratio for prices, the window
for duplicates, the count for frequencies. Payment findings do not block: the payment was
not applied and its refund is already requested (D-3, D-10); the lifecycle opened their
case when it recorded the payment. Logistics findings come after shipment, when there is no
review left to block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.incidents.context import MAX_WINDOW, Context
from orderflow.incidents.model import EvidenceValue, ExceptionType, Finding
from orderflow.inputs import check_identifier
from orderflow.money import _EXACT

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = [
    "CN_MOBILE",
    "E164",
    "CustomerInfoDetector",
    "Detector",
    "OutOfStockDetector",
    "PriceErrorDetector",
    "duration_text",
]

E164: Final = r"\+[1-9][0-9]{7,14}"
"""A phone number in E.164: a ``+``, then 8 to 15 digits, the first not 0."""
CN_MOBILE: Final = r"1[3-9][0-9]{9}"
"""A mainland Chinese mobile number: ``1``, a digit 3 to 9, then nine digits."""


@runtime_checkable
class Detector(Protocol):
    """One check of an order (EX-2): a small object with an id and one method.

    A detector must be pure (no I/O, no clock: it reads only its arguments) and must accept
    any valid order in any state with any valid context: it returns nothing rather than
    fail. Its thresholds are its configuration, checked when it is built.
    """

    @property
    def detector_id(self) -> str:
        """The detector's id, unique in a classifier (``"RK-1-customer"``)."""
        ...

    def detect(
        self, order: Order, context: Context, at: datetime
    ) -> Finding | tuple[Finding, ...] | None:
        """Check an order.

        Args:
            order: the order.
            context: what the host knows around it.
            at: when it is classified.

        Returns:
            A finding whose ``detector`` is this detector's id, several, or ``None``.
        """
        ...


def duration_text(value: timedelta) -> str:
    """A duration in ISO 8601, in hours, minutes and seconds (``PT10M``, ``PT24H``), as
    evidence gives a window.

    Args:
        value: a duration of whole seconds, not negative.

    Returns:
        The text; ``PT0S`` for zero.
    """
    seconds = value // timedelta(seconds=1)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}H" if hours else "", f"{minutes}M" if minutes else ""]
    parts.append(f"{seconds}S" if seconds or not (hours or minutes) else "")
    return "PT" + "".join(parts)


def _detector_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        check_identifier("detector_id", value)
    except InvalidInput as error:
        raise InvalidConfiguration("detector_id", value, error.problem) from None


def window_setting(setting: str) -> Callable[[object, attrs.Attribute[timedelta], object], None]:
    """A validator of a detector's window: a timedelta of whole seconds, above zero and at
    most 3650 days (raises InvalidConfiguration naming ``setting``)."""

    def check(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
        if not isinstance(value, timedelta):
            raise InvalidConfiguration(setting, value, "must be a timedelta")
        if not timedelta(0) < value <= MAX_WINDOW:
            raise InvalidConfiguration(setting, value, "must be above zero, at most 3650 days")
        if value % timedelta(seconds=1):
            raise InvalidConfiguration(setting, value, "must be whole seconds")

    return check


def finding(
    kind: ExceptionType,
    detector: str,
    summary: str,
    evidence: dict[str, EvidenceValue],
    *,
    blocks_review: bool = True,
    freezes: bool = False,
) -> Finding:
    """A finding of one of the library's detectors."""
    return Finding(kind, detector, summary, evidence, blocks_review, freezes)


# -- the customer's details (EX-1 customer_info) ------------------------------------------


_MOST_FORMATS: Final = 20


def _formats(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidConfiguration("phone_formats", value, "must be a sequence of patterns")
    formats = tuple(value)
    if len(formats) > _MOST_FORMATS:
        raise InvalidConfiguration("phone_formats", len(formats), f"at most {_MOST_FORMATS}")
    for pattern in formats:
        if not isinstance(pattern, str):
            raise InvalidConfiguration("phone_formats", pattern, "a pattern is text")
        try:
            re.compile(pattern)
        except re.error as error:
            raise InvalidConfiguration(
                "phone_formats", pattern, f"not a pattern: {error}"
            ) from None
    return formats


@attrs.frozen
class CustomerInfoDetector:
    """The address is incomplete or the phone number is not valid (EX-1 customer_info).

    An incomplete address or an invalid phone is accepted when the order is placed and
    caught here, at review. The address is incomplete when a required part is blank
    (:meth:`~orderflow.Address.missing`). The phone (without the white space around it) is
    valid in E.164 (:data:`E164`) or in one of ``phone_formats`` (by default a mainland
    Chinese mobile number, :data:`CN_MOBILE`). A blank phone is reported missing, not
    invalid. The evidence names the fields, never their values.

    Attributes:
        phone_formats: regular expressions a whole phone number may match besides E.164
            (digits are ASCII ``0-9`` only).
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a pattern that does not compile, more than 20 of them, a
            malformed id.
    """

    phone_formats: tuple[str, ...] = attrs.field(default=(CN_MOBILE,), converter=_formats)
    detector_id: str = attrs.field(default="EX-1-customer-info", validator=_detector_id)
    _patterns: tuple[re.Pattern[str], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        patterns = tuple(re.compile(p, re.ASCII) for p in (E164, *self.phone_formats))
        object.__setattr__(self, "_patterns", patterns)

    def phone_is_valid(self, phone: str) -> bool:
        """Whether a phone number (white space around it ignored) is valid."""
        number = phone.strip()
        return any(pattern.fullmatch(number) for pattern in self._patterns)

    def detect(self, order: Order, context: Context, at: datetime) -> Finding | None:
        """The missing parts of the address and an invalid phone, as one finding."""
        address = order.address
        missing = [f"address.{name}" for name in address.missing()]
        invalid = []
        if "address.phone" not in missing and not self.phone_is_valid(address.phone):
            invalid.append("address.phone")
        if not missing and not invalid:
            return None
        evidence: dict[str, EvidenceValue] = {"field": ", ".join([*missing, *invalid])}
        problems = []
        if missing:
            evidence["missing"] = ", ".join(missing)
            problems.append(f"the address lacks {', '.join(missing)}")
        if invalid:
            evidence["invalid"] = "address.phone"
            problems.append("the phone number is not valid")
        text = "; ".join(problems)
        summary = f"{text[0].upper()}{text[1:]}."
        return finding(ExceptionType.CUSTOMER_INFO, self.detector_id, summary, evidence)


# -- stock and prices (EX-1 out_of_stock, price_error) ------------------------------------


@attrs.frozen
class OutOfStockDetector:
    """Stock short of the ordered quantity (EX-1 out_of_stock): one finding per SKU.

    A line is short when its quantity is above the units available. A SKU without a stock
    level in the context counts as in stock.

    Attributes:
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a malformed id.
    """

    detector_id: str = attrs.field(default="EX-1-out-of-stock", validator=_detector_id)

    def detect(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """A finding for each line whose quantity is above the units available."""
        stock = context.stock
        if not stock:
            return ()
        found = []
        for line in order.lines:
            available = stock.get(line.sku)
            if available is not None and line.quantity > available:
                found.append(
                    finding(
                        ExceptionType.OUT_OF_STOCK,
                        self.detector_id,
                        f"{line.sku}: {line.quantity} ordered, {available} available.",
                        {"sku": line.sku, "ordered": line.quantity, "available": available},
                    )
                )
        return tuple(found)


_MOST_RATIO_DIGITS: Final = 20


def _ratio(instance: object, attribute: attrs.Attribute[Decimal], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidConfiguration("ratio", value, "must be a finite Decimal")
    if not 0 < value <= 1:
        raise InvalidConfiguration("ratio", value, "must be above 0 and at most 1")
    if len(value.as_tuple().digits) > _MOST_RATIO_DIGITS:
        raise InvalidConfiguration("ratio", value, f"at most {_MOST_RATIO_DIGITS} digits")


@attrs.frozen
class PriceErrorDetector:
    """A unit price far below the list price (EX-1 price_error): one finding per SKU.

    A line is mispriced when its unit price is strictly below its list price times
    ``ratio``; the comparison is exact. A SKU without a list price in the context is not
    checked.

    Attributes:
        ratio: the share of the list price below which a price is an error (default 0.5);
            above 0, at most 1.
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a ratio that is not a finite Decimal in (0, 1] of at most 20
            digits, a malformed id.
    """

    ratio: Decimal = attrs.field(default=Decimal("0.5"), validator=_ratio)
    detector_id: str = attrs.field(default="EX-1-price", validator=_detector_id)

    def detect(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """A finding for each line priced below its list price times the ratio.

        Raises:
            InvalidInput: a list price in another currency than the order's.
        """
        prices = context.list_prices
        if not prices:
            return ()
        ratio = self.ratio
        found = []
        for line in order.lines:
            listed = prices.get(line.sku)
            if listed is None:
                continue
            if listed.currency != line.unit_price.currency:
                raise InvalidInput(
                    f"context.list_prices[{line.sku!r}]",
                    listed,
                    f"must be in the order's currency, {line.unit_price.currency}",
                )
            floor = _EXACT.multiply(listed.amount, ratio)
            if line.unit_price.amount < floor:
                found.append(
                    finding(
                        ExceptionType.PRICE_ERROR,
                        self.detector_id,
                        f"{line.sku}: unit price {line.unit_price} is below {ratio} of the "
                        f"list price {listed}.",
                        {
                            "sku": line.sku,
                            "unit_price": line.unit_price,
                            "list_price": listed,
                            "ratio": ratio,
                            "floor": floor,
                            "threshold": ratio,
                        },
                    )
                )
        return tuple(found)
