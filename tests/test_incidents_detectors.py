"""The detectors of an order's own content: customer details, stock, prices, and the
carrier's tracking events (EX-1, EX-2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import InvalidConfiguration, InvalidInput, Money, Order, OrderLine
from orderflow.incidents import (
    Context,
    CustomerInfoDetector,
    ExceptionType,
    Finding,
    OutOfStockDetector,
    PriceErrorDetector,
    Resolution,
    TrackingDetector,
    TrackingEvent,
    TrackingKind,
)
from tests.incidents_support import placed
from tests.support import ADDRESS, T0, cny

NO_DATA = Context()


def _one(result: Finding | tuple[Finding, ...] | None) -> Finding:
    """The single finding of a detector's result."""
    if isinstance(result, Finding):
        return result
    assert isinstance(result, tuple)
    assert len(result) == 1, result
    return result[0]


def _none(result: Finding | tuple[Finding, ...] | None) -> bool:
    """Whether a detector's result holds no finding."""
    return result is None or result == ()


def _with_address(**parts: str) -> Order:
    """An order to the test address with some parts changed."""
    return placed(address=attrs.evolve(ADDRESS, **parts))


# Customer details (EX-1 customer_info) ---------------------------------------------------

INFO = CustomerInfoDetector()


def test_ex1_a_complete_address_with_a_valid_phone_is_no_exception() -> None:
    """EX-1: a complete address with a CN mobile number raises no customer-info finding."""
    assert INFO.detect(placed(), NO_DATA, T0) is None


def test_ex1_an_incomplete_address_is_found_naming_the_missing_fields() -> None:
    """EX-1: blank required parts are named in the evidence; the finding blocks review."""
    found = _one(INFO.detect(_with_address(city=" ", line1=""), NO_DATA, T0))
    assert found.type is ExceptionType.CUSTOMER_INFO
    assert found.detector == "EX-1-customer-info"
    assert dict(found.evidence) == {
        "field": "address.line1, address.city",
        "missing": "address.line1, address.city",
    }
    assert found.blocks_review
    assert not found.freezes
    assert found.playbook == (Resolution.CORRECT_INFO,)


def test_ex1_a_blank_phone_is_missing_not_invalid() -> None:
    """EX-1: a blank phone is a missing part of the address, reported once."""
    found = _one(INFO.detect(_with_address(phone="  "), NO_DATA, T0))
    assert dict(found.evidence) == {"field": "address.phone", "missing": "address.phone"}


def test_ex1_an_invalid_phone_and_a_missing_part_make_one_finding() -> None:
    """EX-1: the missing parts and the invalid phone are one customer-info finding."""
    found = _one(INFO.detect(_with_address(phone="12345", city=""), NO_DATA, T0))
    assert found.evidence["field"] == "address.city, address.phone"
    assert found.evidence["missing"] == "address.city"
    assert found.evidence["invalid"] == "address.phone"
    assert found.summary == "The address lacks address.city; the phone number is not valid."


VALID_PHONES = [
    "13800138000",  # CN mobile
    "19912345678",
    "+8613800138000",  # E.164, 13 digits
    "+12345678",  # E.164, the fewest digits: 8
    "+123456789012345",  # E.164, the most digits: 15
    " 13800138000 ",  # white space around is ignored
]
INVALID_PHONES = [
    "12800138000",  # CN: the second digit is 3 to 9
    "1380013800",  # CN: one digit short
    "138001380000",  # CN: one digit over
    "+1234567",  # E.164: 7 digits
    "+1234567890123456",  # E.164: 16 digits
    "+0123456789",  # E.164: a country code does not start with 0
    "8613800138000",  # E.164 without its +
    "+86 138 0013 8000",  # spaces inside
    "+86-13800138000",
    "１３８００１３８０００",  # full-width digits
    "1380013800٠",  # an Arabic-Indic digit
    "phone",
]


@pytest.mark.parametrize("phone", VALID_PHONES)
def test_ex1_valid_phone_formats_are_accepted(phone: str) -> None:
    """EX-1: E.164 with its + and 8 to 15 digits, or a CN mobile number, is valid."""
    assert INFO.phone_is_valid(phone)
    assert INFO.detect(_with_address(phone=phone), NO_DATA, T0) is None


@pytest.mark.parametrize("phone", INVALID_PHONES)
def test_ex1_invalid_phone_formats_are_found(phone: str) -> None:
    """EX-1: anything else is an invalid phone, caught at review (not at placing)."""
    order = _with_address(phone=phone)  # accepted when placed
    found = _one(INFO.detect(order, NO_DATA, T0))
    assert dict(found.evidence) == {"field": "address.phone", "invalid": "address.phone"}


def _reference_valid(phone: str) -> bool:
    """The phone rule written without regular expressions."""
    number = phone.strip()
    ascii_digits = set("0123456789")
    if number.startswith("+"):
        digits = number[1:]
        return 8 <= len(digits) <= 15 and set(digits) <= ascii_digits and digits[0] != "0"
    return (
        len(number) == 11
        and set(number) <= ascii_digits
        and number[0] == "1"
        and number[1] in "3456789"
    )


@given(
    st.one_of(
        st.text(alphabet="+0123456789 ٠１", max_size=18),
        st.from_regex(r"\+[0-9]{6,17}", fullmatch=True),
        st.from_regex(r"1[0-9]{9,11}", fullmatch=True),
    )
)
def test_ex1_phone_validity_matches_the_rule_for_any_text(phone: str) -> None:
    """EX-1: the detector's verdict on any phone text agrees with the rule as written."""
    assert INFO.phone_is_valid(phone) is _reference_valid(phone)


def test_ex1_the_evidence_and_summary_never_carry_the_phone_or_address() -> None:
    """EX-1: a finding names fields, never their personal values."""
    order = _with_address(phone="+86 55501 99887", city="")
    found = _one(INFO.detect(order, NO_DATA, T0))
    text = f"{found.summary} {dict(found.evidence)}"
    for value in ("55501", "99887", ADDRESS.recipient, ADDRESS.line1):
        assert value not in text


def test_ex1_a_host_adds_its_own_national_phone_format() -> None:
    """EX-1: phone formats are configuration; E.164 stays valid whatever they are."""
    uk = CustomerInfoDetector(phone_formats=(r"07[0-9]{9}",))
    assert uk.phone_is_valid("07700900123")
    assert not uk.phone_is_valid("13800138000")
    assert uk.phone_is_valid("+447700900123")
    assert not CustomerInfoDetector(phone_formats=()).phone_is_valid("13800138000")


@pytest.mark.parametrize(
    "formats", ["07[0-9]{9}", ("[unclosed",), (7,), tuple(["1"] * 21)], ids=repr
)
def test_ex1_malformed_phone_formats_are_refused(formats: Any) -> None:
    """EX-1: a pattern that is not one, or too many, is a configuration error."""
    with pytest.raises(InvalidConfiguration) as raised:
        CustomerInfoDetector(phone_formats=formats)
    assert raised.value.setting == "phone_formats"


@pytest.mark.parametrize("detector_id", ["", " ", "x" * 101, 7], ids=repr)
def test_ex2_a_detector_id_must_be_an_identifier(detector_id: Any) -> None:
    """EX-2: a detector's id is an identifier, checked when it is built."""
    with pytest.raises(InvalidConfiguration):
        OutOfStockDetector(detector_id=detector_id)


# Stock (EX-1 out_of_stock) ---------------------------------------------------------------

STOCK = OutOfStockDetector()


def test_ex1_stock_short_of_the_ordered_quantity_is_found_per_sku() -> None:
    """EX-1: a quantity above the units available is out of stock; evidence names both."""
    found = _one(STOCK.detect(placed(), Context(stock={"SKU-A": 1, "SKU-B": 5}), T0))
    assert found.type is ExceptionType.OUT_OF_STOCK
    assert dict(found.evidence) == {"sku": "SKU-A", "ordered": 2, "available": 1}
    assert found.blocks_review
    assert found.playbook == (Resolution.WAIT_FOR_RESTOCK, Resolution.REFUND, Resolution.SUBSTITUTE)


def test_ex1_stock_equal_to_the_ordered_quantity_is_enough() -> None:
    """EX-1: exactly the units ordered in stock is no exception (the near miss)."""
    assert _none(STOCK.detect(placed(), Context(stock={"SKU-A": 2, "SKU-B": 1}), T0))


def test_ex1_every_short_sku_is_its_own_finding_and_oversold_stock_is_short() -> None:
    """EX-1: each short line makes a finding; a negative level (oversold) is short."""
    found = STOCK.detect(placed(), Context(stock={"SKU-A": 0, "SKU-B": -3}), T0)
    assert [(f.evidence["sku"], f.evidence["available"]) for f in found] == [
        ("SKU-A", 0),
        ("SKU-B", -3),
    ]


def test_ex1_a_sku_without_stock_data_counts_as_in_stock() -> None:
    """EX-1: "no data" for a SKU is in stock; stock of other SKUs is not read."""
    assert _none(STOCK.detect(placed(), NO_DATA, T0))
    assert _none(STOCK.detect(placed(), Context(stock={"SKU-C": 0}), T0))
    found = _one(STOCK.detect(placed(), Context(stock={"SKU-B": 0}), T0))
    assert found.evidence["sku"] == "SKU-B"


# Prices (EX-1 price_error) ----------------------------------------------------------------

PRICE = PriceErrorDetector()


def _priced(unit: str, currency: str = "CNY") -> Order:
    """An order of one line at ``unit`` per unit."""
    return placed(lines=(OrderLine("SKU-A", 1, Money(unit, currency)),))


def test_ex1_a_unit_price_below_half_the_list_price_is_a_price_error() -> None:
    """EX-1: below list price x 0.5 (the default) is found, with the values compared."""
    context = Context(list_prices={"SKU-A": cny("100.00")})
    found = _one(PRICE.detect(_priced("49.99"), context, T0))
    assert found.type is ExceptionType.PRICE_ERROR
    assert dict(found.evidence) == {
        "sku": "SKU-A",
        "unit_price": cny("49.99"),
        "list_price": cny("100.00"),
        "ratio": Decimal("0.5"),
        "floor": Decimal("50.000"),
        "threshold": Decimal("0.5"),
    }
    assert found.blocks_review
    assert found.playbook == (
        Resolution.PAY_DIFFERENCE,
        Resolution.REFUND_AND_CLOSE,
        Resolution.CORRECT_PRICE,
    )


def test_ex1_a_unit_price_at_exactly_the_ratio_is_no_price_error() -> None:
    """EX-1: strictly below: list price x ratio itself is the near miss."""
    context = Context(list_prices={"SKU-A": cny("100.00")})
    assert _none(PRICE.detect(_priced("50.00"), context, T0))


@pytest.mark.parametrize(
    ("ratio", "fires", "misses"),
    [
        ("0.8", "79.99", "80.00"),
        ("1", "99.99", "100.00"),
        ("0.333", "33.29", "33.30"),  # the floor 33.300 is compared exactly
    ],
)
def test_ex1_the_ratio_is_configuration_and_its_boundary_is_exact(
    ratio: str, fires: str, misses: str
) -> None:
    """EX-1: with another ratio, one cent below the floor fires and the floor does not."""
    detector = PriceErrorDetector(ratio=Decimal(ratio))
    context = Context(list_prices={"SKU-A": cny("100.00")})
    assert _one(detector.detect(_priced(fires), context, T0)).evidence["threshold"] == Decimal(
        ratio
    )
    assert _none(detector.detect(_priced(misses), context, T0))


def test_ex1_a_floor_between_two_minor_units_is_compared_exactly() -> None:
    """EX-1: list 99 JPY x 0.5 is 49.5: 49 yen is below it, 50 yen is not."""
    context = Context(list_prices={"SKU-A": Money("99", "JPY")})
    assert _one(PRICE.detect(_priced("49", "JPY"), context, T0)).evidence["floor"] == Decimal(
        "49.5"
    )
    assert _none(PRICE.detect(_priced("50", "JPY"), context, T0))


def test_ex1_a_sku_without_a_list_price_is_not_checked() -> None:
    """EX-1: "no data" for a SKU's list price: the SKU is not price-checked."""
    assert _none(PRICE.detect(_priced("0.01"), NO_DATA, T0))
    assert _none(PRICE.detect(_priced("0.01"), Context(list_prices={"SKU-Z": cny("9")}), T0))


def test_ex1_a_list_price_in_another_currency_is_refused_naming_the_sku() -> None:
    """EX-1: a list price in another currency than the order's is bad context."""
    context = Context(list_prices={"SKU-A": Money("100.00", "USD")})
    with pytest.raises(InvalidInput) as raised:
        PRICE.detect(_priced("1.00"), context, T0)
    assert raised.value.field == "context.list_prices['SKU-A']"


@pytest.mark.parametrize(
    "ratio",
    [
        Decimal(0),
        Decimal("-0.5"),
        Decimal("1.01"),
        Decimal("NaN"),
        0.5,
        "0.5",
        Decimal("0." + "1" * 21),
    ],
    ids=repr,
)
def test_ex1_a_ratio_outside_zero_to_one_is_refused(ratio: Any) -> None:
    """EX-1: the ratio is a finite Decimal above 0 and at most 1."""
    with pytest.raises(InvalidConfiguration) as raised:
        PriceErrorDetector(ratio=ratio)
    assert raised.value.setting == "ratio"


# Tracking events (EX-1 logistics, third-party hold) --------------------------------------

TRACKING = TrackingDetector()


def _event(kind: TrackingKind, hours: int = 1, note: str = "") -> TrackingEvent:
    return TrackingEvent(kind, T0 + timedelta(hours=hours), note)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (TrackingKind.LOST, ExceptionType.LOGISTICS_LOST),
        (TrackingKind.DAMAGED, ExceptionType.LOGISTICS_DAMAGED),
        (TrackingKind.DELAYED, ExceptionType.LOGISTICS_DELAYED),
        (TrackingKind.WRONG_ADDRESS, ExceptionType.WRONG_ADDRESS),
        (TrackingKind.CUSTOMS_HOLD, ExceptionType.THIRD_PARTY_HOLD),
    ],
)
def test_ex1_each_exceptional_tracking_event_is_its_type(
    kind: TrackingKind, expected: ExceptionType
) -> None:
    """EX-1: lost, damaged, delayed, wrong address and customs hold each make a finding of
    their type, naming the event; they do not block review."""
    events = (_event(TrackingKind.IN_TRANSIT), _event(kind, 2, "depot 7"))
    found = _one(TRACKING.findings(events, T0 + timedelta(days=1)))
    assert found.type is expected
    assert dict(found.evidence) == {
        "event": kind.value,
        "event_at": T0 + timedelta(hours=2),
        "note": "depot 7",
    }
    assert not found.blocks_review
    assert kind.is_exceptional


@pytest.mark.parametrize(
    "kind",
    [
        TrackingKind.PICKED_UP,
        TrackingKind.IN_TRANSIT,
        TrackingKind.OUT_FOR_DELIVERY,
        TrackingKind.DELIVERED,
    ],
)
def test_ex1_ordinary_tracking_updates_are_no_exception(kind: TrackingKind) -> None:
    """EX-1: in-transit and other ordinary updates are events but never findings."""
    assert TRACKING.findings((_event(kind),), T0 + timedelta(days=1)) == ()
    assert not kind.is_exceptional


def test_ex1_a_delivery_clears_a_delay_but_not_damage() -> None:
    """EX-1: a later delivery clears a lost, delayed, held or misaddressed parcel; damage
    stays."""
    events = (
        _event(TrackingKind.DELAYED, 1),
        _event(TrackingKind.DAMAGED, 2),
        _event(TrackingKind.DELIVERED, 3),
        _event(TrackingKind.CUSTOMS_HOLD, 4),
    )
    found = TRACKING.findings(events, T0 + timedelta(days=1))
    assert [f.type for f in found] == [
        ExceptionType.LOGISTICS_DAMAGED,
        ExceptionType.THIRD_PARTY_HOLD,
    ]


def test_ex1_the_latest_event_of_a_kind_is_named_and_later_events_are_not_read() -> None:
    """EX-1: one finding per kind, from its latest event known at the classification time."""
    events = (_event(TrackingKind.DELAYED, 5), _event(TrackingKind.DELAYED, 2))
    (found,) = TRACKING.findings(events, T0 + timedelta(hours=5))
    assert found.evidence["event_at"] == T0 + timedelta(hours=5)
    assert "note" not in found.evidence
    (earlier,) = TRACKING.findings(events, T0 + timedelta(hours=4, minutes=59))
    assert earlier.evidence["event_at"] == T0 + timedelta(hours=2)
    assert TRACKING.findings(events, T0 + timedelta(hours=1)) == ()


def test_ex1_the_tracking_detector_reads_the_orders_events_through_its_seam() -> None:
    """EX-1: ``detect`` reads the order's events from its source (none by default)."""
    order = placed()
    assert TRACKING.detect(order, NO_DATA, T0) == ()
    events = (_event(TrackingKind.LOST),)
    reading = TrackingDetector(events=lambda read: events if read is order else ())
    (found,) = reading.detect(order, NO_DATA, T0 + timedelta(days=1))
    assert found.type is ExceptionType.LOGISTICS_LOST
    assert found.detector == "EX-1-tracking"


@pytest.mark.parametrize(
    "events", ["lost", [TrackingKind.LOST], 3, (None,)], ids=["text", "kinds", "int", "none"]
)
def test_ex1_tracking_events_that_are_not_events_are_refused(events: Any) -> None:
    """EX-1: the detector reads a sequence of TrackingEvent and nothing else."""
    with pytest.raises(InvalidInput):
        TRACKING.findings(events, T0)


def test_ex1_a_tracking_source_must_be_callable() -> None:
    """EX-1: the events' source is configuration."""
    with pytest.raises(InvalidConfiguration):
        TrackingDetector(events="order.tracking")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "at", "note", "field"),
    [
        ("lost", T0, "", "tracking_event.kind"),
        (TrackingKind.LOST, T0.replace(tzinfo=None), "", "tracking_event.at"),
        (TrackingKind.LOST, T0, "left at door\x00 of Li Lei", "tracking_event.note"),
        (TrackingKind.LOST, T0, "x" * 2001, "tracking_event.note"),
    ],
    ids=["kind", "naive", "nul", "long"],
)
def test_ex1_a_malformed_tracking_event_is_refused_without_quoting_its_note(
    kind: Any, at: Any, note: str, field: str
) -> None:
    """EX-1: tracking events are validated; an error never quotes the carrier's note."""
    with pytest.raises(InvalidInput) as raised:
        TrackingEvent(kind, at, note)
    assert raised.value.field == field
    assert "Li Lei" not in str(raised.value)
