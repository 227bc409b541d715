"""Properties of every after-sales decision, whatever the request and the settings (AS-2..AS-4,
D-4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from orderflow import InvalidConfiguration, Money
from orderflow.aftersales import (
    POLICY_RULE_ID,
    Basis,
    CaseKind,
    CaseReason,
    CategoryPolicy,
    Decision,
    ExclusionFlag,
    Policy,
    PolicySettings,
    PolicySnapshot,
    RequestedLine,
    RequestFacts,
    ResponseAction,
    Ruling,
    ShippingPayer,
    WindowMode,
    window_end,
)
from orderflow.converter import converter

ZONES = ("Asia/Shanghai", "America/New_York", "America/Santiago", "UTC")
CATEGORIES = ("fresh", "books", "gift-cards", "toys")
REASONS = (
    CaseReason.NOTHING_SHIPPED,
    CaseReason.CARRIER_PROBLEM,
    CaseReason.EMPTY_PARCEL,
    CaseReason.NOT_SHIPPED_ON_TIME,
    CaseReason.WRONG_ITEM,
    CaseReason.BOUGHT_BY_MISTAKE,
    CaseReason.NO_REASON,
    CaseReason.QUALITY_PROBLEM,
    CaseReason.NOT_AS_DESCRIBED,
    CaseReason.AGREED_AMOUNT,
)
FACT_TYPES = (str, int, Money, datetime)

days = st.integers(1, 40)
overrides = st.builds(
    CategoryPolicy,
    no_reason_days=st.none() | days,
    quality_days=st.none() | days,
    excluded_from_no_reason=st.booleans(),
    exclusions=st.frozensets(st.sampled_from(ExclusionFlag), max_size=2),
)
settings_strategy = st.builds(
    PolicySettings,
    version=st.sampled_from(["default", "2026-03", "shop/7"]),
    time_zone=st.sampled_from(ZONES),
    window_mode=st.sampled_from(WindowMode),
    no_reason_days=days,
    quality_days=days,
    excluded_categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
    categories=st.dictionaries(st.sampled_from(CATEGORIES), overrides, max_size=3),
    seller_response=st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
    seller_response_action=st.sampled_from(ResponseAction),
    ship_back=st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
    seller_receipt=st.integers(1, 10**6).map(lambda s: timedelta(seconds=s)),
)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from([ZoneInfo(zone) for zone in ZONES]),
    allow_imaginary=False,
)


def cny(cents: int) -> Money:
    """An amount in CNY from a number of fen."""
    return Money(f"{cents // 100}.{cents % 100:02d}", "CNY")


@st.composite
def requests(draw: st.DrawFn) -> RequestFacts:
    """Any well-formed request: 1 to 3 lines, delivered or not, asked before or after."""
    count = draw(st.integers(1, 3))
    paid = [draw(st.integers(0, 100_000)) for _ in range(count)]
    lines = tuple(
        RequestedLine(
            f"SKU-{index}",
            draw(st.integers(1, 5)),
            draw(st.sampled_from(("", *CATEGORIES))),
            draw(st.frozensets(st.sampled_from(ExclusionFlag), max_size=2)),
            cny(cents),
        )
        for index, cents in enumerate(paid)
    )
    delivered_at = draw(st.none() | instants)
    start = delivered_at or draw(instants)
    requested_at = start + timedelta(seconds=draw(st.integers(-86_400, 60 * 86_400)))
    return RequestFacts(
        draw(st.sampled_from(CaseKind)),
        draw(st.sampled_from(REASONS)),
        lines,
        cny(draw(st.integers(0, sum(paid)))),
        delivered_at,
        requested_at,
        stated_unsealed=draw(st.booleans()),
        order_state=draw(st.sampled_from(["paid", "shipped", "delivered", "completed"])),
    )


def _check_facts(facts: Mapping[str, object]) -> None:
    for value in facts.values():
        assert not isinstance(value, float)
        assert isinstance(value, FACT_TYPES), value
        if isinstance(value, datetime):
            assert value.utcoffset() is not None


@given(requests(), settings_strategy)
def test_as4_a_decision_names_a_rule_that_applied_and_folds_its_verdicts(
    facts: RequestFacts, settings: PolicySettings
) -> None:
    """AS-4: the deciding id is a verdict's (or the policy's when none applied); denied iff a
    verdict denies, manual iff none denies and one asks for review; never a float or a naive
    time among the facts; the amount is the request's."""
    decision = Policy.default(settings).decide(facts)
    rulings = [verdict.ruling for verdict in decision.verdicts]
    if decision.verdicts:
        assert decision.rule_id in [verdict.rule_id for verdict in decision.verdicts]
        assert decision.deciding is not None
        assert decision.deciding.ruling is decision.ruling
        assert decision.facts == decision.deciding.facts
    else:
        assert (decision.rule_id, decision.ruling) == (POLICY_RULE_ID, Ruling.ALLOWED)
    assert (decision.ruling is Ruling.DENIED) == (Ruling.DENIED in rulings)
    assert (decision.ruling is Ruling.MANUAL) == (
        Ruling.DENIED not in rulings and Ruling.MANUAL in rulings
    )
    if decision.ruling is Ruling.DENIED:
        first = next(v for v in decision.verdicts if v.ruling is Ruling.DENIED)
        assert decision.rule_id == first.rule_id
    _check_facts(decision.facts)
    for verdict in decision.verdicts:
        _check_facts(verdict.facts)
    assert decision.amount == facts.amount
    assert decision.policy_version == settings.version


@given(requests(), settings_strategy)
def test_as2_as3_exclusions_and_windows_judge_only_their_own_requests(
    facts: RequestFacts, settings: PolicySettings
) -> None:
    """AS-2, AS-3: exclusions and the no-reason window judge only no-reason returns and
    exchanges; the buyer pays return shipping exactly for those."""
    decision = Policy.default(settings).decide(facts)
    no_reason = facts.basis is Basis.NO_REASON and facts.kind in (
        CaseKind.RETURN,
        CaseKind.EXCHANGE,
    )
    judged = {verdict.rule_id for verdict in decision.verdicts}
    no_reason_rules = {"AS-2a", "AS-2b", "AS-2c", "AS-2d", "AS-2e", "AS-2-category"}
    assert (judged >= no_reason_rules) == no_reason
    assert judged.isdisjoint(no_reason_rules) == (not no_reason)
    assert ("AS-3-window" in judged) == (
        facts.basis is Basis.QUALITY
        and facts.kind is not CaseKind.NOT_RECEIVED
        and facts.delivered_at is not None
    )
    assert (decision.shipping_payer is ShippingPayer.BUYER) == no_reason


@given(requests(), settings_strategy)
def test_d4_a_window_verdict_holds_its_delivery_and_end_and_allows_strictly_before(
    facts: RequestFacts, settings: PolicySettings
) -> None:
    """D-4: a window verdict's facts hold the delivery and the first instant outside, in the
    shop's zone; it allows exactly when the request comes before that instant; the window
    that ends first among the lines (each with its category's days) decides."""
    decision = Policy.default(settings).decide(facts)
    for verdict in decision.verdicts:
        if verdict.rule_id not in ("AS-2-window", "AS-3-window"):
            continue
        assert facts.delivered_at is not None
        ends = verdict.facts["window_ends"]
        assert isinstance(ends, datetime)
        delivered = verdict.facts["delivered_at"]
        assert isinstance(delivered, datetime)
        # the same instant; compared in UTC, since Python never finds an ambiguous local
        # time (a fall-back hour in New York, say) equal to a time in another zone
        assert delivered.astimezone(UTC) == facts.delivered_at.astimezone(UTC)
        assert ends.tzinfo == settings.zone
        assert facts.delivered_at < ends
        assert (verdict.ruling is Ruling.ALLOWED) == (facts.requested_at < ends)
        days_for = (
            settings.no_reason_days_for
            if verdict.rule_id == "AS-2-window"
            else settings.quality_days_for
        )
        assert ends == min(
            window_end(facts.delivered_at, days_for(line.category), settings)
            for line in facts.lines
        )


@given(st.sampled_from(CATEGORIES), overrides, settings_strategy, instants)
def test_as2_as3_a_category_override_takes_precedence(
    category: str, override: CategoryPolicy, settings: PolicySettings, delivered_at: datetime
) -> None:
    """AS-2, AS-3: a category's own window days replace the shop's for its lines."""
    shop = PolicySettings(
        time_zone=settings.time_zone,
        window_mode=settings.window_mode,
        no_reason_days=settings.no_reason_days,
        quality_days=settings.quality_days,
        categories={**settings.categories, category: override},
    )
    wanted = override.no_reason_days or shop.no_reason_days
    assert shop.no_reason_days_for(category) == wanted
    assert shop.quality_days_for(category) == (override.quality_days or shop.quality_days)
    facts = RequestFacts(
        CaseKind.RETURN,
        CaseReason.NO_REASON,
        (RequestedLine("SKU-1", 1, category, frozenset(), cny(100)),),
        cny(100),
        delivered_at,
        delivered_at,
        order_state="delivered",
    )
    window = Policy.default(shop).decide(facts).verdict("AS-2-window")
    assert window is not None
    assert window.facts["days"] == wanted
    assert window.facts["window_ends"] == window_end(delivered_at, wanted, shop)


@given(settings_strategy)
def test_d4_any_settings_snapshot_round_trips_through_json(settings: PolicySettings) -> None:
    """D-4: whatever the settings, the snapshot an order carries reads back equal."""
    snapshot = Policy.default(settings).snapshot()
    document = json.loads(json.dumps(converter.unstructure(snapshot)))
    assert converter.structure(document, PolicySnapshot) == snapshot


@given(st.text(max_size=120))
def test_d4_any_time_zone_text_is_a_zone_or_a_configuration_error(text: str) -> None:
    """D-4: a time zone setting is a zone the system knows, or InvalidConfiguration."""
    refused: InvalidConfiguration | None = None
    try:
        settings = PolicySettings(time_zone=text)
    except InvalidConfiguration as error:
        refused = error
    if refused is None:
        assert settings.zone.key == text
    else:
        assert refused.setting == "policy.time_zone"


def test_as4_the_policy_level_decision_speaks_for_itself() -> None:
    """AS-4: when no rule applies, the decision says the seller decides, with the request's
    kind, reason and time."""
    at = datetime(2026, 3, 12, 4, 0, tzinfo=UTC)
    facts = RequestFacts(
        CaseKind.EXCHANGE,
        CaseReason.AGREED_AMOUNT,
        (RequestedLine("SKU-1", 1, "", frozenset(), cny(100)),),
        cny(0),
        at - timedelta(days=1),
        at,
        order_state="delivered",
    )
    decision: Decision = Policy.default().decide(facts)
    assert decision.rule_id == POLICY_RULE_ID
    assert dict(decision.facts) == {
        "kind": "exchange",
        "reason": "agreed_amount",
        "requested_at": at.astimezone(ZoneInfo("Asia/Shanghai")),
    }
    assert decision.sentence.endswith("the seller decides.")
