"""Policies as ordered lists of rules, the settings a shop configures, and the snapshot an
order carries (AS-2..AS-4, D-4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from cattrs.errors import BaseValidationError, ForbiddenExtraKeysError

from orderflow import DocumentError, InvalidConfiguration, InvalidInput, Money, OrderLine
from orderflow.aftersales import (
    DEFAULT_RULES,
    CaseKind,
    CaseReason,
    CategoryExclusionRule,
    CategoryPolicy,
    ExclusionFlag,
    ExclusionRule,
    Policy,
    PolicySettings,
    PolicySnapshot,
    QualityWindowRule,
    RequestedLine,
    RequestFacts,
    ResponseAction,
    Ruling,
    Verdict,
    WindowMode,
)
from orderflow.converter import converter
from tests.policy_support import DEFAULT, DELIVERED, line, request, shanghai


@attrs.frozen
class NoGiftCards:
    """A host's rule: gift cards are never taken back, whatever the reason."""

    rule_id: str = "shop-gift-cards"

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Deny any return or exchange naming a gift card."""
        if facts.kind not in (CaseKind.RETURN, CaseKind.EXCHANGE):
            return None
        for requested in facts.lines:
            if requested.category == "gift-cards":
                return Verdict.denied(
                    self.rule_id, "Gift cards cannot be returned.", {"sku": requested.sku}
                )
        return Verdict.allowed(self.rule_id, "No gift cards.", {})


GIFT_CARD = line("GC-1", category="gift-cards")


# Adding, removing, replacing rules ---------------------------------------------------------


def test_as4_a_host_adds_removes_and_replaces_rules_without_changing_the_policy() -> None:
    """AS-4: with_rule, without and replacing give new policies and leave the original."""
    before = DEFAULT.rule_ids
    added = DEFAULT.with_rule(NoGiftCards(), before="AS-2a")
    assert added.rule_ids.index("shop-gift-cards") == added.rule_ids.index("AS-2a") - 1
    assert DEFAULT.with_rule(NoGiftCards()).rule_ids[-1] == "shop-gift-cards"
    removed = DEFAULT.without("AS-2d")
    assert "AS-2d" not in removed.rule_ids
    assert len(removed.rule_ids) == len(before) - 1
    fourteen = QualityWindowRule(hint="Call 400-000-0000 for repairs.")
    replaced = DEFAULT.replacing("AS-3-window", fourteen)
    assert replaced.rule_ids == before
    assert replaced.rule("AS-3-window") is fourteen
    assert DEFAULT.rule_ids == before
    assert DEFAULT.rules == DEFAULT_RULES


def test_as4_a_host_rule_decides_first_when_it_denies_first() -> None:
    """AS-4: the first denying rule in policy order decides, the host's included."""
    policy = DEFAULT.with_rule(NoGiftCards(), before="D-5-delivered")
    quality = policy.decide(request(CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, lines=[GIFT_CARD]))
    assert (quality.ruling, quality.rule_id) == (Ruling.DENIED, "shop-gift-cards")
    assert quality.facts["sku"] == "GC-1"
    assert quality.verdicts[-1].rule_id == "AS-3-window"
    assert quality.verdicts[-1].ruling is Ruling.ALLOWED


def test_as2_a_removed_exclusion_no_longer_denies() -> None:
    """AS-2: a shop that takes periodicals back removes AS-2d."""
    periodical = (line(exclusions=[ExclusionFlag.PERIODICAL]),)
    assert DEFAULT.decide(request(lines=periodical)).rule_id == "AS-2d"
    relaxed = DEFAULT.without("AS-2d").decide(request(lines=periodical))
    assert (relaxed.ruling, relaxed.rule_id) == (Ruling.ALLOWED, "AS-2-window")


@pytest.mark.parametrize(
    ("build", "setting"),
    [
        (lambda: DEFAULT.with_rule(CategoryExclusionRule()), "policy.rules"),
        (lambda: DEFAULT.with_rule(NoGiftCards(), before="nope"), "before"),
        (lambda: DEFAULT.without("nope"), "rule_id"),
        (lambda: DEFAULT.replacing("nope", NoGiftCards()), "rule_id"),
        (lambda: DEFAULT.replacing("AS-2a", CategoryExclusionRule()), "policy.rules"),
        (lambda: DEFAULT.rule("nope"), "rule_id"),
        (lambda: DEFAULT.with_rule("not a rule"), "policy.rules[12]"),  # type: ignore[arg-type]
        (lambda: Policy("rules"), "policy.rules"),  # type: ignore[arg-type]
        (lambda: Policy(DEFAULT_RULES, "settings"), "policy.settings"),  # type: ignore[arg-type]
        (lambda: Policy([NoGiftCards("")]), "policy.rules"),
        (lambda: Policy([NoGiftCards()] * 2), "policy.rules"),
        (lambda: DEFAULT.for_snapshot("snapshot"), "snapshot"),  # type: ignore[arg-type]
        (lambda: ExclusionRule("", ExclusionFlag.PERISHABLE), "rule_id"),
        (lambda: Policy([NoGiftCards(f"shop-{n}") for n in range(201)]), "policy.rules"),
        (lambda: PolicySnapshot(PolicySettings(), "AS-2a"), "policy.rule_ids"),
        (lambda: PolicySnapshot(PolicySettings(), ["AS-2a", "AS-2a"]), "policy.rule_ids"),
        (lambda: PolicySnapshot(PolicySettings(), [""]), "policy.rule_ids"),
        (lambda: PolicySnapshot("settings", []), "policy.settings"),  # type: ignore[arg-type]
        (lambda: QualityWindowRule(hint=""), "hint"),
    ],
)
def test_as4_a_malformed_policy_is_refused(build: Any, setting: str) -> None:
    """AS-4: unknown, repeated or blank rule ids and objects that are not rules are refused."""
    with pytest.raises(InvalidConfiguration) as refused:
        build()
    assert refused.value.setting == setting


def test_as4_a_rule_must_return_a_verdict_of_its_own() -> None:
    """AS-4: a rule returning something else, or another rule's verdict, is a host bug."""

    @attrs.frozen
    class Wrong:
        rule_id: str
        answer: object

        def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
            return self.answer  # type: ignore[return-value]

    for answer, problem in [
        ("allowed", "decide returns a Verdict or None"),
        (Verdict.allowed("AS-2a", "Fine.", {}), "a verdict carries its rule's id"),
    ]:
        with pytest.raises(InvalidConfiguration, match=problem):
            DEFAULT.with_rule(Wrong("shop-wrong", answer)).decide(request())
    with pytest.raises(InvalidInput, match="must be RequestFacts"):
        DEFAULT.decide("facts")  # type: ignore[arg-type]


# Settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"version": ""}, "policy.version"),
        ({"version": 2026}, "policy.version"),
        ({"time_zone": "Mars/Olympus"}, "policy.time_zone"),
        ({"time_zone": "../etc"}, "policy.time_zone"),
        ({"time_zone": ""}, "policy.time_zone"),
        ({"window_mode": "calendar"}, "policy.window_mode"),
        ({"no_reason_days": 0}, "policy.no_reason_days"),
        ({"no_reason_days": 7.0}, "policy.no_reason_days"),
        ({"no_reason_days": True}, "policy.no_reason_days"),
        ({"quality_days": 3651}, "policy.quality_days"),
        ({"excluded_categories": "gift-cards"}, "policy.excluded_categories"),
        ({"excluded_categories": {""}}, "policy.excluded_categories"),
        ({"excluded_categories": {str(n) for n in range(1001)}}, "policy.excluded_categories"),
        ({"categories": [("fresh", CategoryPolicy())]}, "policy.categories"),
        ({"categories": {"fresh": 3}}, "policy.categories"),
        ({"categories": {" ": CategoryPolicy()}}, "policy.categories"),
        ({"categories": {str(n): CategoryPolicy() for n in range(1001)}}, "policy.categories"),
        ({"seller_response": timedelta(0)}, "policy.seller_response"),
        ({"seller_response": 48}, "policy.seller_response"),
        ({"ship_back": timedelta(days=3651)}, "policy.ship_back"),
        ({"seller_receipt": timedelta(seconds=1.5)}, "policy.seller_receipt"),
        ({"seller_response_action": "auto_approve"}, "policy.seller_response_action"),
    ],
)
def test_d4_nonsense_settings_are_refused(changes: dict[str, Any], setting: str) -> None:
    """D-4, AS-2: settings the policy cannot work with are refused, naming the setting."""
    with pytest.raises(InvalidConfiguration) as refused:
        PolicySettings(**changes)
    assert refused.value.setting == setting


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"no_reason_days": 0}, "category_policy.no_reason_days"),
        ({"quality_days": "15"}, "category_policy.quality_days"),
        ({"excluded_from_no_reason": 1}, "category_policy.excluded_from_no_reason"),
        ({"exclusions": {ExclusionFlag.PERISHABLE}}, "category_policy.exclusions"),
    ],
)
def test_as2_nonsense_category_overrides_are_refused(changes: dict[str, Any], setting: str) -> None:
    """AS-2: a category override with days out of range or values of the wrong type is refused."""
    with pytest.raises(InvalidConfiguration) as refused:
        CategoryPolicy(**changes)
    assert refused.value.setting == setting


def test_d4_settings_defaults_and_lookups() -> None:
    """D-4, AS-2, AS-3: the defaults are 7 and 15 calendar days in Shanghai; overrides win."""
    settings = PolicySettings()
    assert (settings.no_reason_days, settings.quality_days) == (7, 15)
    assert (settings.time_zone, settings.window_mode) == ("Asia/Shanghai", WindowMode.CALENDAR)
    assert (settings.seller_response, settings.ship_back, settings.seller_receipt) == (
        timedelta(hours=48),
        timedelta(days=7),
        timedelta(days=10),
    )
    assert settings.seller_response_action is ResponseAction.AUTO_APPROVE
    shop = PolicySettings(
        excluded_categories=["gift-cards"],
        categories={
            "fresh": CategoryPolicy(
                no_reason_days=3, exclusions=frozenset({ExclusionFlag.PERISHABLE})
            ),
            "furniture": CategoryPolicy(quality_days=30, excluded_from_no_reason=True),
        },
    )
    assert shop.excluded_categories == frozenset({"gift-cards"})
    assert [shop.no_reason_days_for(c) for c in ("fresh", "furniture", "")] == [3, 7, 7]
    assert [shop.quality_days_for(c) for c in ("fresh", "furniture", "")] == [15, 30, 15]
    assert [shop.excludes_category(c) for c in ("gift-cards", "furniture", "fresh")] == [
        True,
        True,
        False,
    ]
    assert shop.exclusions_for("fresh") == {ExclusionFlag.PERISHABLE}
    assert shop.exclusions_for("toys") == frozenset()
    assert hash(shop) == hash(attrs.evolve(shop))
    with pytest.raises(TypeError):
        shop.categories["toys"] = CategoryPolicy()  # type: ignore[index]


# The snapshot an order carries -------------------------------------------------------------


def test_d4_a_later_change_of_settings_never_reaches_an_order_already_placed() -> None:
    """D-4, AS-2: an order placed under 7 days keeps them after the shop moves to 3."""
    placed_under = DEFAULT.snapshot()
    shop_now = DEFAULT.with_settings(PolicySettings(version="2026-04", no_reason_days=3))
    late = request(at=shanghai(17, 23, 59, 59))
    assert shop_now.decide(late).ruling is Ruling.DENIED
    old_order = shop_now.for_snapshot(placed_under).decide(late)
    assert (old_order.ruling, old_order.policy_version) == (Ruling.ALLOWED, "default")
    assert shop_now.for_snapshot(placed_under).rules == shop_now.rules


def _shop_settings() -> PolicySettings:
    return PolicySettings(
        version="2026-03",
        time_zone="America/New_York",
        window_mode=WindowMode.HOURS,
        no_reason_days=10,
        quality_days=30,
        excluded_categories=frozenset({"gift-cards", "custom-prints"}),
        categories={
            "fresh": CategoryPolicy(no_reason_days=2, exclusions=frozenset(ExclusionFlag)),
            "books": CategoryPolicy(quality_days=60, excluded_from_no_reason=True),
        },
        seller_response=timedelta(hours=24),
        seller_response_action=ResponseAction.AUTO_REJECT,
        ship_back=timedelta(days=5, seconds=1),
        seller_receipt=timedelta(days=14),
    )


def test_d4_the_snapshot_round_trips_through_json_with_the_converter() -> None:
    """D-4: the snapshot an order carries serializes to JSON and back, equal."""
    snapshot = Policy.default(_shop_settings()).snapshot()
    document = json.loads(json.dumps(converter.unstructure(snapshot)))
    assert document["rule_ids"] == list(DEFAULT.rule_ids)
    settings = document["settings"]
    assert settings["seller_response"] == 86_400
    assert settings["ship_back"] == 432_001
    assert settings["excluded_categories"] == ["custom-prints", "gift-cards"]
    assert settings["categories"]["fresh"]["exclusions"] == sorted(f.value for f in ExclusionFlag)
    assert settings["window_mode"] == "hours"
    loaded = converter.structure(document, PolicySnapshot)
    assert loaded == snapshot
    assert loaded.version == "2026-03"
    assert converter.structure(converter.unstructure(PolicySettings()), PolicySettings) == (
        PolicySettings()
    )


def _problems(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseValidationError):
        return [leaf for inner in error.exceptions for leaf in _problems(inner)]
    return [error]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("seller_response",), 1.5, "a whole number of seconds"),
        (("seller_response",), True, "a whole number of seconds"),
        (("seller_response",), "PT48H", "a whole number of seconds"),
        (("seller_response",), 10**20, "beyond what a timedelta holds"),
        (("seller_response",), -5, "must be above zero"),
        (("no_reason_days",), "7", "a whole number"),
        (("excluded_categories",), "gift-cards", "must be a list"),
        (("excluded_categories",), ["a", "a"], "lists a member twice"),
        (("excluded_categories",), [1], "must be a string"),
        (("categories",), [], "must be a mapping"),
        (("categories", "fresh", "no_reason_days"), 2.0, "a whole number"),
        (("categories", "fresh", "exclusions"), ["stale"], "not a known ExclusionFlag"),
        (("categories", "fresh", "surprise"), 1, "extra"),
        (("window_mode",), "weeks", "not a known WindowMode"),
        (("time_zone",), "Nowhere/Land", "not a known IANA time zone"),
        (("surprise",), 1, "extra"),
    ],
)
def test_d4_settings_documents_are_read_strictly(
    path: tuple[str, ...], value: object, problem: str
) -> None:
    """D-4: a settings document of the wrong shape is refused, never coerced."""
    document = converter.unstructure(_shop_settings())
    place = document
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the converter's own group
        converter.structure(document, PolicySettings)
    found = _problems(refused.value)
    assert any(problem.lower() in str(error).lower() for error in found), found
    assert all(
        isinstance(error, DocumentError | InvalidConfiguration | ForbiddenExtraKeysError)
        for error in found
    )


def test_d4_a_duration_with_a_fraction_of_a_second_cannot_be_written() -> None:
    """D-4: durations are written as whole seconds, so a fraction is refused, not rounded."""
    with pytest.raises(InvalidInput, match="only whole seconds"):
        converter.unstructure(timedelta(milliseconds=1500))
    assert converter.unstructure(timedelta(days=2)) == 172_800
    assert converter.structure(172_800, timedelta) == timedelta(days=2)


# Requests and verdicts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "return"}, "kind"),
        ({"reason": "no_reason"}, "reason"),
        ({"lines": ()}, "lines"),
        ({"lines": "SKU-1"}, "lines"),
        ({"lines": ("SKU-1",)}, "lines[0]"),
        ({"lines": (line(), line())}, "lines[1].sku"),
        ({"lines": (line(paid="1"),) * 1001}, "lines"),
        ({"amount": Money("1", "USD")}, "lines[0].paid"),
        ({"amount": Money("300.01", "CNY")}, "amount"),
        ({"amount": Money("-1", "CNY")}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"delivered_at": datetime(2026, 3, 10)}, "delivered_at"),
        ({"requested_at": datetime(2026, 3, 12)}, "requested_at"),
        ({"requested_at": None}, "requested_at"),
        ({"stated_unsealed": 1}, "stated_unsealed"),
        ({"order_state": ""}, "order_state"),
    ],
)
def test_as4_malformed_request_facts_are_refused(changes: dict[str, Any], field: str) -> None:
    """AS-4: a request the rules cannot read is refused, naming the field."""
    valid: dict[str, Any] = {
        "kind": CaseKind.RETURN,
        "reason": CaseReason.NO_REASON,
        "lines": (line(),),
        "amount": Money("100", "CNY"),
        "delivered_at": DELIVERED,
        "requested_at": shanghai(12),
        "stated_unsealed": False,
        "order_state": "delivered",
    }
    with pytest.raises(InvalidInput) as refused:
        RequestFacts(**{**valid, **changes})
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", 1, "", frozenset(), Money("1", "CNY")), "line.sku"),
        (("SKU", 0, "", frozenset(), Money("1", "CNY")), "line.quantity"),
        (("SKU", True, "", frozenset(), Money("1", "CNY")), "line.quantity"),
        (("SKU", 1, "x" * 101, frozenset(), Money("1", "CNY")), "line.category"),
        (("SKU", 1, "", {ExclusionFlag.PERISHABLE}, Money("1", "CNY")), "line.exclusions"),
        (("SKU", 1, "", frozenset({"perishable"}), Money("1", "CNY")), "line.exclusions"),
        (("SKU", 1, "", frozenset(), "1.00"), "line.paid"),
    ],
)
def test_as2_malformed_requested_lines_are_refused(args: tuple[Any, ...], field: str) -> None:
    """AS-2: a requested line is validated where it is built."""
    with pytest.raises(InvalidInput) as refused:
        RequestedLine(*args)
    assert refused.value.field == field


def test_as2_d11_a_requested_line_from_an_order_line() -> None:
    """AS-2, D-11: a request for some units of an order line carries what the whole line cost."""
    order_line = OrderLine(
        "SKU-9",
        3,
        Money("50", "CNY"),
        category="fresh",
        exclusions=frozenset({ExclusionFlag.PERISHABLE}),
        paid=Money("120", "CNY"),
    )
    requested = RequestedLine.of(order_line, 2)
    assert requested == RequestedLine(
        "SKU-9", 2, "fresh", frozenset({ExclusionFlag.PERISHABLE}), Money("120", "CNY")
    )
    assert RequestedLine.of(order_line).quantity == 3
    for quantity in (0, 4, 2.0):
        with pytest.raises(InvalidInput) as refused:
            RequestedLine.of(order_line, quantity)  # type: ignore[arg-type]
        assert refused.value.field == "line.quantity"


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"share": 0.5}, "facts['share']"),
        ({"at": datetime(2026, 3, 12)}, "facts['at']"),
        ({"nothing": None}, "facts['nothing']"),
        ({"amount": Money("1", "CNY").amount}, "facts['amount']"),
        ({"skus": ["A", "B"]}, "facts['skus']"),
        ({"": 1}, "facts"),
        ({1: 1}, "facts"),
        ({str(n): n for n in range(51)}, "facts"),
        ([("sku", "A")], "facts"),
    ],
)
def test_as4_a_verdict_never_carries_floats_naive_times_or_other_values(
    facts: Any, field: str
) -> None:
    """AS-4: a verdict's facts are text, whole numbers, booleans, money or aware times."""
    with pytest.raises(InvalidInput) as refused:
        Verdict.denied("shop-rule", "No.", facts)
    assert refused.value.field == field


def test_as4_a_verdict_is_checked_and_its_facts_are_read_only() -> None:
    """AS-4: a verdict needs an id, a ruling and a sentence; its facts cannot be changed."""
    cases: list[tuple[tuple[Any, ...], str]] = [
        (("", Ruling.DENIED, "No."), "rule_id"),
        (("x", "denied", "No."), "ruling"),
        (("x", Ruling.DENIED, " "), "sentence"),
        (("x", Ruling.DENIED, "No.", {}, "\x00"), "hint"),
    ]
    for args, field in cases:
        with pytest.raises(InvalidInput) as refused:
            Verdict(*args)
        assert refused.value.field == field
    verdict = Verdict.manual("x", "Look.", {"at": datetime(2026, 3, 1, tzinfo=UTC), "n": 1})
    assert verdict.ruling is Ruling.MANUAL
    with pytest.raises(TypeError):
        verdict.facts["n"] = 2  # type: ignore[index]
    assert hash(verdict) == hash(Verdict.manual("x", "Look.", {}))
