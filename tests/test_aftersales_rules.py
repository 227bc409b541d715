"""The default policy's rules, each at its boundaries in Asia/Shanghai (AS-1..AS-4, D-4, D-5).

Every case is a request on an order delivered on 2026-03-10 at 15:00 in Shanghai: the
no-reason window ends at 2026-03-18T00:00+08:00 and the quality window at
2026-03-26T00:00+08:00 (24:00 of their last day, outside).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from orderflow import Money
from orderflow.aftersales import (
    CaseKind,
    CaseReason,
    CategoryPolicy,
    Decision,
    ExclusionFlag,
    Policy,
    PolicySettings,
    RequestFacts,
    Ruling,
    ShippingPayer,
    Verdict,
)
from tests.policy_support import (
    DEFAULT,
    DELIVERED,
    NO_REASON_ENDS,
    QUALITY_ENDS,
    SHANGHAI,
    hours_policy,
    line,
    request,
    shanghai,
)

ALLOWED, DENIED, MANUAL = Ruling.ALLOWED, Ruling.DENIED, Ruling.MANUAL
RETURN, EXCHANGE, REFUND_ONLY, NOT_RECEIVED = (
    CaseKind.RETURN,
    CaseKind.EXCHANGE,
    CaseKind.REFUND_ONLY,
    CaseKind.NOT_RECEIVED,
)
NO_REASON, QUALITY = CaseReason.NO_REASON, CaseReason.QUALITY_PROBLEM
EXCLUSIONS = {
    "AS-2a": ExclusionFlag.MADE_TO_ORDER,
    "AS-2b": ExclusionFlag.PERISHABLE,
    "AS-2c": ExclusionFlag.UNSEALED_DIGITAL,
    "AS-2d": ExclusionFlag.PERIODICAL,
    "AS-2e": ExclusionFlag.CONFIRMED_NON_RETURNABLE,
}


def ids(decision: Decision) -> list[str]:
    """The ids of the rules that applied, in order."""
    return [verdict.rule_id for verdict in decision.verdicts]


# AS-2-window and AS-3-window at their boundaries ------------------------------------------


@pytest.mark.parametrize(
    ("policy", "kind", "reason", "at", "ruling", "rule_id", "ends"),
    [
        # The no-reason window, calendar days: 23:59:59 of 03-17 in, 24:00 out.
        (DEFAULT, RETURN, NO_REASON, DELIVERED, ALLOWED, "AS-2-window", NO_REASON_ENDS),
        (DEFAULT, RETURN, NO_REASON, shanghai(17, 23, 59, 59), ALLOWED, "AS-2-window",
         NO_REASON_ENDS),
        (DEFAULT, RETURN, NO_REASON, shanghai(18, 0, 0, 0), DENIED, "AS-2-window",
         NO_REASON_ENDS),
        (DEFAULT, EXCHANGE, NO_REASON, shanghai(17, 23, 59, 59), ALLOWED, "AS-2-window",
         NO_REASON_ENDS),
        (DEFAULT, EXCHANGE, NO_REASON, shanghai(18, 0, 0, 0), DENIED, "AS-2-window",
         NO_REASON_ENDS),
        (DEFAULT, RETURN, CaseReason.BOUGHT_BY_MISTAKE, shanghai(18, 0, 0, 0), DENIED,
         "AS-2-window", NO_REASON_ENDS),
        # The hours rule: 7 x 24 h from the scan, 15:00 on 03-17 out.
        (hours_policy(), RETURN, NO_REASON, shanghai(17, 14, 59, 59), ALLOWED, "AS-2-window",
         shanghai(17, 15)),
        (hours_policy(), RETURN, NO_REASON, shanghai(17, 15, 0, 0), DENIED, "AS-2-window",
         shanghai(17, 15)),
        # The quality window, 15 days: 23:59:59 of 03-25 in, 24:00 out.
        (DEFAULT, RETURN, QUALITY, shanghai(25, 23, 59, 59), ALLOWED, "AS-3-window",
         QUALITY_ENDS),
        (DEFAULT, RETURN, QUALITY, shanghai(26, 0, 0, 0), DENIED, "AS-3-window", QUALITY_ENDS),
        (DEFAULT, EXCHANGE, CaseReason.NOT_AS_DESCRIBED, shanghai(26, 0, 0, 0), DENIED,
         "AS-3-window", QUALITY_ENDS),
        (DEFAULT, REFUND_ONLY, QUALITY, shanghai(25, 23, 59, 59), ALLOWED, "AS-3-window",
         QUALITY_ENDS),
        (DEFAULT, REFUND_ONLY, QUALITY, shanghai(26, 0, 0, 0), DENIED, "AS-3-window",
         QUALITY_ENDS),
        (hours_policy(), RETURN, QUALITY, shanghai(25, 14, 59, 59), ALLOWED, "AS-3-window",
         shanghai(25, 15)),
        (hours_policy(), RETURN, QUALITY, shanghai(25, 15, 0, 0), DENIED, "AS-3-window",
         shanghai(25, 15)),
        # A quality problem after the no-reason window is still inside its own (AS-3).
        (DEFAULT, RETURN, QUALITY, shanghai(18, 0, 0, 0), ALLOWED, "AS-3-window", QUALITY_ENDS),
    ],
)  # fmt: skip
def test_as2_as3_d4_windows_at_their_boundaries(
    policy: Policy,
    kind: CaseKind,
    reason: CaseReason,
    at: datetime,
    ruling: Ruling,
    rule_id: str,
    ends: datetime,
) -> None:
    """AS-2, AS-3, D-4: a window allows strictly before its end and denies from it on; its
    facts hold the delivery and the end whether it allows or denies."""
    decision = policy.decide(request(kind, reason, at))
    assert (decision.ruling, decision.rule_id) == (ruling, rule_id)
    assert decision.facts["delivered_at"] == DELIVERED
    assert decision.facts["window_ends"] == ends
    assert decision.facts["requested_at"] == at
    assert decision.facts["window_ends"].tzinfo == SHANGHAI  # type: ignore[union-attr]
    assert decision.verdict(rule_id) is decision.deciding


def test_as2_d4_the_window_verdict_speaks_the_customer_s_dates() -> None:
    """AS-2, AS-4: the sentence gives the window's end as 24:00 of its last day, in the zone."""
    inside = DEFAULT.decide(request(at=shanghai(17, 23, 59, 59)))
    assert inside.sentence == (
        "The request is within the 7-day no-reason return window, which ends at "
        "2026-03-17 24:00 (Asia/Shanghai)."
    )
    outside = DEFAULT.decide(request(at=shanghai(18, 0)))
    assert outside.sentence == (
        "The 7-day no-reason return window ended at 2026-03-17 24:00 (Asia/Shanghai)."
    )
    assert outside.hint == "A quality problem can still be reported as a quality return."
    late = hours_policy().decide(request(at=shanghai(17, 15)))
    assert "ended at 2026-03-17 15:00 (Asia/Shanghai)" in late.sentence


def test_as3_a_closed_quality_window_hints_at_the_warranty() -> None:
    """AS-3: the quality-window denial names the warranty and the after-sales contact."""
    decision = DEFAULT.decide(request(RETURN, QUALITY, shanghai(26, 0)))
    assert decision.ruling is DENIED
    assert "warranty" in decision.hint
    assert "after-sales" in decision.hint
    assert decision.sentence == (
        "The 15-day quality window ended at 2026-03-25 24:00 (Asia/Shanghai)."
    )


def test_as2_as3_d4_a_delivery_just_before_local_midnight() -> None:
    """D-4: a parcel delivered at 23:59:59 counts its day; one at 00:00 counts the next."""
    late = datetime(2026, 3, 10, 23, 59, 59, tzinfo=SHANGHAI)
    at = shanghai(18, 0)
    assert DEFAULT.decide(request(at=at, delivered_at=late)).ruling is DENIED
    midnight = datetime(2026, 3, 11, 0, 0, tzinfo=SHANGHAI)
    decision = DEFAULT.decide(request(at=at, delivered_at=midnight))
    assert decision.ruling is ALLOWED
    assert decision.facts["window_ends"] == datetime(2026, 3, 19, tzinfo=SHANGHAI)


# AS-2 (a)-(e): the exclusions ---------------------------------------------------------------


@pytest.mark.parametrize("rule_id", sorted(EXCLUSIONS))
@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_as2_each_exclusion_denies_a_no_reason_request(rule_id: str, kind: CaseKind) -> None:
    """AS-2 (a)-(e): each exclusion is its own rule; its denial names the line and the flag."""
    flag = EXCLUSIONS[rule_id]
    goods = (line("SKU-A"), line("SKU-B", 2, "books", [flag]))
    decision = DEFAULT.decide(request(kind, lines=goods))
    assert (decision.ruling, decision.rule_id) == (DENIED, rule_id)
    assert dict(decision.facts) == {
        "exclusion": flag.value,
        "sku": "SKU-B",
        "quantity": 2,
        "category": "books",
        "source": "line",
    }
    assert decision.shipping_payer is ShippingPayer.BUYER
    others = [v.rule_id for v in decision.verdicts if v.ruling is ALLOWED]
    assert set(others) == set(EXCLUSIONS) - {rule_id} | {"AS-2-category", "AS-2-window"}


@pytest.mark.parametrize("rule_id", sorted(EXCLUSIONS))
def test_as2_each_exclusion_denies_even_inside_the_window_and_at_its_boundary(
    rule_id: str,
) -> None:
    """AS-2: excluded goods are denied at 23:59:59 of the last day; at 24:00 both deny, and
    the exclusion, first in policy order, decides."""
    goods = (line(exclusions=[EXCLUSIONS[rule_id]]),)
    inside = DEFAULT.decide(request(at=shanghai(17, 23, 59, 59), lines=goods))
    assert (inside.ruling, inside.rule_id) == (DENIED, rule_id)
    assert inside.verdict("AS-2-window").ruling is ALLOWED  # type: ignore[union-attr]
    outside = DEFAULT.decide(request(at=shanghai(18, 0), lines=goods))
    assert (outside.ruling, outside.rule_id) == (DENIED, rule_id)
    assert outside.verdict("AS-2-window").ruling is DENIED  # type: ignore[union-attr]


@pytest.mark.parametrize("rule_id", sorted(EXCLUSIONS))
@pytest.mark.parametrize("quantity", [1, 3])
def test_as2_a_partial_quantity_is_judged_like_the_whole_line(rule_id: str, quantity: int) -> None:
    """AS-2: asking for 1 of 3 units of an excluded line is denied like asking for all 3."""
    goods = (line(quantity=quantity, exclusions=[EXCLUSIONS[rule_id]]),)
    decision = DEFAULT.decide(request(lines=goods, amount="100.00"))
    assert (decision.ruling, decision.rule_id) == (DENIED, rule_id)
    assert decision.facts["quantity"] == quantity


@pytest.mark.parametrize("rule_id", sorted(EXCLUSIONS))
@pytest.mark.parametrize("kind", [RETURN, EXCHANGE, REFUND_ONLY])
def test_as2_as3_exclusions_bind_the_no_reason_return_only(rule_id: str, kind: CaseKind) -> None:
    """AS-2, AS-3: a quality request for excluded goods is judged by the quality window only."""
    goods = (line(exclusions=[EXCLUSIONS[rule_id]]),)
    decision = DEFAULT.decide(request(kind, QUALITY, shanghai(25, 23, 59, 59), lines=goods))
    assert (decision.ruling, decision.rule_id) == (ALLOWED, "AS-3-window")
    assert ids(decision) == ["AS-3-window"]


@pytest.mark.parametrize("rule_id", sorted(EXCLUSIONS))
def test_as2_an_exclusion_a_category_carries_by_configuration(rule_id: str) -> None:
    """AS-2: a category's configured exclusions apply to its lines; the source says so."""
    flag = EXCLUSIONS[rule_id]
    settings = PolicySettings(categories={"fresh": CategoryPolicy(exclusions=frozenset({flag}))})
    policy = Policy.default(settings)
    decision = policy.decide(request(lines=[line(category="fresh")]))
    assert (decision.ruling, decision.rule_id) == (DENIED, rule_id)
    assert decision.facts["source"] == "category"
    assert policy.decide(request(lines=[line(category="meat")])).ruling is ALLOWED


def test_as2c_digital_goods_the_request_states_were_unsealed() -> None:
    """AS-2 (c): the request stating digital goods were unsealed is enough to deny."""
    decision = DEFAULT.decide(request(stated_unsealed=True))
    assert (decision.ruling, decision.rule_id) == (DENIED, "AS-2c")
    assert dict(decision.facts) == {
        "exclusion": "unsealed_digital",
        "stated_unsealed": True,
        "source": "request",
    }
    quality = DEFAULT.decide(request(RETURN, QUALITY, stated_unsealed=True))
    assert quality.ruling is ALLOWED


# AS-2-category ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        PolicySettings(excluded_categories=frozenset({"gift-cards"})),
        PolicySettings(categories={"gift-cards": CategoryPolicy(excluded_from_no_reason=True)}),
    ],
)
def test_as2_a_category_excluded_by_configuration(settings: PolicySettings) -> None:
    """AS-2: a category excluded from no-reason returns is denied; the facts name it."""
    policy = Policy.default(settings)
    goods = (line("SKU-A", category="toys"), line("GC-100", 1, "gift-cards"))
    decision = policy.decide(request(at=shanghai(17, 23, 59, 59), lines=goods))
    assert (decision.ruling, decision.rule_id) == (DENIED, "AS-2-category")
    assert decision.facts["category"] == "gift-cards"
    assert decision.facts["sku"] == "GC-100"
    assert "gift-cards" in decision.sentence
    assert policy.decide(request(lines=[line(category="toys")])).ruling is ALLOWED
    quality = policy.decide(request(RETURN, QUALITY, lines=goods))
    assert (quality.ruling, quality.rule_id) == (ALLOWED, "AS-3-window")


# Per-category windows -----------------------------------------------------------------------


def test_as2_as3_per_category_windows_take_precedence() -> None:
    """AS-2, AS-3: a category's own windows replace the shop's; the one ending first decides."""
    settings = PolicySettings(
        categories={"fresh": CategoryPolicy(no_reason_days=3, quality_days=5)}
    )
    policy = Policy.default(settings)
    fresh = line("SKU-F", category="fresh")
    ends = datetime(2026, 3, 14, tzinfo=SHANGHAI)
    assert policy.decide(request(at=shanghai(13, 23, 59, 59), lines=[fresh])).ruling is ALLOWED
    mixed = policy.decide(request(at=shanghai(14, 0), lines=[line(), fresh]))
    assert (mixed.ruling, mixed.rule_id) == (DENIED, "AS-2-window")
    assert (mixed.facts["window_ends"], mixed.facts["sku"], mixed.facts["days"]) == (
        ends,
        "SKU-F",
        3,
    )
    assert policy.decide(request(at=shanghai(14, 0))).ruling is ALLOWED
    quality = policy.decide(request(RETURN, QUALITY, shanghai(16, 0), lines=[fresh]))
    assert (quality.ruling, quality.facts["window_ends"]) == (
        DENIED,
        datetime(2026, 3, 16, tzinfo=SHANGHAI),
    )


# Disputed deliveries, goods not received, refunds only, goods not yet delivered ----------


@pytest.mark.parametrize(
    ("kind", "reason", "delivered_at", "ruling", "rule_id", "payer"),
    [
        # AS-4-dispute: after a delivery scan, a disputed delivery goes to an agent.
        (NOT_RECEIVED, CaseReason.EMPTY_PARCEL, DELIVERED, MANUAL, "AS-4-dispute",
         ShippingPayer.NONE),
        (NOT_RECEIVED, CaseReason.CARRIER_PROBLEM, DELIVERED, MANUAL, "AS-4-dispute",
         ShippingPayer.NONE),
        (RETURN, CaseReason.WRONG_ITEM, DELIVERED, MANUAL, "AS-4-dispute", ShippingPayer.SELLER),
        (EXCHANGE, CaseReason.WRONG_ITEM, DELIVERED, MANUAL, "AS-4-dispute",
         ShippingPayer.SELLER),
        (REFUND_ONLY, CaseReason.EMPTY_PARCEL, DELIVERED, MANUAL, "AS-4-dispute",
         ShippingPayer.NONE),
        # AS-1-not-received: before any delivery scan, allowed whatever the reason.
        (NOT_RECEIVED, CaseReason.NOTHING_SHIPPED, None, ALLOWED, "AS-1-not-received",
         ShippingPayer.NONE),
        (NOT_RECEIVED, CaseReason.BOUGHT_BY_MISTAKE, None, ALLOWED, "AS-1-not-received",
         ShippingPayer.NONE),
        (NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, None, ALLOWED, "AS-1-not-received",
         ShippingPayer.NONE),
        # D-5-delivered: nothing to return, exchange or keep before delivery.
        (RETURN, NO_REASON, None, DENIED, "D-5-delivered", ShippingPayer.BUYER),
        (EXCHANGE, QUALITY, None, DENIED, "D-5-delivered", ShippingPayer.SELLER),
        (REFUND_ONLY, CaseReason.AGREED_AMOUNT, None, DENIED, "D-5-delivered",
         ShippingPayer.NONE),
        # AS-4-agreed: a refund only of delivered goods, within the caps.
        (REFUND_ONLY, CaseReason.AGREED_AMOUNT, DELIVERED, ALLOWED, "AS-4-agreed",
         ShippingPayer.NONE),
        (REFUND_ONLY, CaseReason.BOUGHT_BY_MISTAKE, DELIVERED, ALLOWED, "AS-4-agreed",
         ShippingPayer.NONE),
        # No rule applies: the policy allows, and the seller decides.
        (EXCHANGE, CaseReason.AGREED_AMOUNT, DELIVERED, ALLOWED, "AS-4", ShippingPayer.SELLER),
    ],
)  # fmt: skip
def test_as1_as4_d5_requests_outside_the_windows(
    kind: CaseKind,
    reason: CaseReason,
    delivered_at: datetime | None,
    ruling: Ruling,
    rule_id: str,
    payer: ShippingPayer,
) -> None:
    """AS-1, AS-4, D-5: disputes go to an agent, goods not received are refunded, requests
    about received goods need a delivery, a refund only can be agreed."""
    facts = request(kind, reason, delivered_at=delivered_at, order_state="shipped")
    decision = DEFAULT.decide(facts)
    assert (decision.ruling, decision.rule_id, decision.shipping_payer) == (
        ruling,
        rule_id,
        payer,
    )
    assert decision.amount == Money("100.00", "CNY")
    if rule_id == "AS-4":
        assert decision.verdicts == ()
        assert decision.deciding is None
    else:
        assert ids(decision)[0] == rule_id  # a no-reason return also lists its exclusions
        assert decision.deciding is not None
        assert decision.deciding.sentence == decision.sentence


def test_as4_dispute_facts_and_hint() -> None:
    """AS-4: a disputed delivery's review names the reason, the scan and the request time."""
    decision = DEFAULT.decide(request(NOT_RECEIVED, CaseReason.EMPTY_PARCEL))
    assert dict(decision.facts) == {
        "reason": "empty_parcel",
        "delivered_at": DELIVERED,
        "requested_at": shanghai(12),
        "order_state": "delivered",
    }
    assert decision.sentence.startswith("The delivery is disputed")
    assert "photos" in decision.hint


def test_as4_agreed_refund_carries_the_amount_and_ignores_exclusions() -> None:
    """AS-4: a refund only keeps the goods, so the no-reason exclusions do not apply to it."""
    perishable = (line(exclusions=[ExclusionFlag.PERISHABLE]),)
    decision = DEFAULT.decide(
        request(REFUND_ONLY, CaseReason.AGREED_AMOUNT, shanghai(30), lines=perishable, amount="25")
    )
    assert (decision.ruling, decision.rule_id) == (ALLOWED, "AS-4-agreed")
    assert decision.facts["amount"] == Money("25.00", "CNY")
    assert decision.amount == Money("25.00", "CNY")


def test_d5_the_delivered_rule_points_to_a_refund_of_goods_not_received() -> None:
    """D-5: a return asked before delivery is denied with a hint at the right request."""
    facts = request(delivered_at=None, order_state="shipped")
    decision = DEFAULT.decide(facts)
    assert decision.hint == "Ask for a refund of goods not received instead."
    assert dict(decision.facts) == {
        "kind": "return",
        "order_state": "shipped",
        "requested_at": shanghai(12),
    }


# The decision ---------------------------------------------------------------------------------


def test_as4_a_no_reason_decision_lists_every_verdict_in_policy_order() -> None:
    """AS-4: every rule that applied is listed in policy order; the window decides an allowed
    no-reason return, whose return shipping is the buyer's."""
    decision = DEFAULT.decide(request())
    assert ids(decision) == [
        "AS-2a", "AS-2b", "AS-2c", "AS-2d", "AS-2e", "AS-2-category", "AS-2-window",
    ]  # fmt: skip
    assert all(verdict.ruling is ALLOWED for verdict in decision.verdicts)
    assert decision.rule_id == "AS-2-window"
    assert decision.shipping_payer is ShippingPayer.BUYER
    assert decision.policy_version == "default"
    assert decision.verdict("AS-3-window") is None


def test_as4_a_quality_return_s_shipping_is_the_seller_s() -> None:
    """AS-3, AS-4: a quality return or exchange ships back at the seller's cost."""
    for kind in (RETURN, EXCHANGE):
        assert DEFAULT.decide(request(kind, QUALITY)).shipping_payer is ShippingPayer.SELLER


def test_as4_a_rule_added_after_the_window_does_not_decide() -> None:
    """AS-4: a rule added after the window does not take the window's place as decider."""

    class Always:
        rule_id = "shop-always"

        def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
            return Verdict.allowed(self.rule_id, "Fine.", {})

    policy = DEFAULT.with_rule(Always())
    decision = policy.decide(request())
    assert ids(decision)[-1] == "shop-always"
    assert decision.rule_id == "AS-2-window"
    without_window = policy.without("AS-2-window").decide(request())
    assert without_window.rule_id == "shop-always"
