"""The default rules of an after-sales policy, each with its own id (AS-1..AS-4, D-4, D-5).

In the order of :data:`DEFAULT_RULES`:

* ``D-5-delivered`` (:class:`DeliveredRule`): a return, an exchange or a refund only before
  any delivery scan is denied;
* ``AS-4-dispute`` (:class:`DeliveryDisputeRule`): a disputed delivery after a delivery scan
  goes to manual review;
* ``AS-1-not-received`` (:class:`NotReceivedRule`): a refund of goods not received, before a
  delivery scan, is allowed;
* ``AS-2a`` .. ``AS-2e`` (:class:`ExclusionRule`, one per exclusion) and ``AS-2-category``
  (:class:`CategoryExclusionRule`): a no-reason return or exchange of excluded goods is
  denied;
* ``AS-2-window`` and ``AS-3-window`` (:mod:`orderflow.aftersales.windows`): the no-reason
  and the quality window (D-4);
* ``AS-4-agreed`` (:class:`AgreedRefundRule`): a refund only of delivered goods is allowed.

Exclusions bind the no-reason return only: a quality return of excluded goods is judged by
the quality window alone. A request for some units of a line is judged like the whole line.
"""

from __future__ import annotations

from typing import Final

import attrs

from orderflow.aftersales.configuration import PolicySettings
from orderflow.aftersales.decisions import Fact, Rule, Ruling, Verdict, _rule_id_setting, _trusted
from orderflow.aftersales.model import Basis, CaseKind, ExclusionFlag
from orderflow.aftersales.requests import RequestedLine, RequestFacts
from orderflow.aftersales.windows import QUALITY_HINT, NoReasonWindowRule, QualityWindowRule

__all__ = [
    "DEFAULT_RULES",
    "AgreedRefundRule",
    "CategoryExclusionRule",
    "DeliveredRule",
    "DeliveryDisputeRule",
    "ExclusionRule",
    "NotReceivedRule",
]

_AFTER_DELIVERY: Final = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE, CaseKind.REFUND_ONLY})
_SHIPPED_BACK: Final = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE})
_EXCLUSION_TEXT: Final = {
    ExclusionFlag.MADE_TO_ORDER: (
        "Goods made to the buyer's order cannot be returned without a reason.",
        "None of the goods was made to order.",
    ),
    ExclusionFlag.PERISHABLE: (
        "Fresh or perishable goods cannot be returned without a reason.",
        "None of the goods is fresh or perishable.",
    ),
    ExclusionFlag.UNSEALED_DIGITAL: (
        "Digital, audio-visual or software goods cannot be returned without a reason once "
        "unsealed or downloaded.",
        "No digital goods were unsealed or downloaded.",
    ),
    ExclusionFlag.PERIODICAL: (
        "Newspapers and periodicals already delivered cannot be returned without a reason.",
        "None of the goods is a newspaper or a periodical.",
    ),
    ExclusionFlag.CONFIRMED_NON_RETURNABLE: (
        "The buyer confirmed at purchase that these goods cannot be returned without a reason.",
        "The buyer confirmed no goods as not returnable at purchase.",
    ),
}


_ALLOWED: dict[tuple[object, ...], Verdict] = {}
"""The allowing verdicts of the exclusion rules, which read nothing of a request but its
lines' count or categories: built once per rule and key, then shared (a verdict is an
immutable value)."""
_MOST_ALLOWED: Final = 4096


def _kept(key: tuple[object, ...], verdict: Verdict) -> Verdict:
    """Keep an allowing verdict for its key (forgetting them all past 4,096 keys)."""
    if len(_ALLOWED) >= _MOST_ALLOWED:
        _ALLOWED.clear()
    _ALLOWED[key] = verdict
    return verdict


def _no_reason_goods(facts: RequestFacts) -> bool:
    """A no-reason return or exchange: what the exclusions judge."""
    return facts.reason.basis is Basis.NO_REASON and facts.kind in _SHIPPED_BACK


def _line_facts(line: RequestedLine) -> dict[str, Fact]:
    return {"sku": line.sku, "quantity": line.quantity, "category": line.category}


@attrs.frozen
class ExclusionRule:
    """AS-2 (a)-(e): goods excluded from the no-reason return are denied one.

    Applies to no-reason returns and exchanges. A line is excluded when it carries the flag,
    when its category carries it by configuration
    (:attr:`~orderflow.aftersales.CategoryPolicy.exclusions`), or, for unsealed digital
    goods, when the request states it. A request for some units of a line is judged like the
    whole line. The denial's facts name the exclusion, the line and where the flag came from
    (``source``: ``"line"``, ``"category"`` or ``"request"``).

    Attributes:
        rule_id: the rule's id (``"AS-2a"`` .. ``"AS-2e"`` by default).
        flag: the exclusion it judges.
    """

    rule_id: str = attrs.field(validator=_rule_id_setting)
    flag: ExclusionFlag = attrs.field(validator=attrs.validators.instance_of(ExclusionFlag))

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Deny a no-reason return or exchange of goods this exclusion covers.

        Returns:
            ``None`` for other requests; else denied (the first excluded line) or allowed.
        """
        if not _no_reason_goods(facts):
            return None
        flag = self.flag
        denied, allowed = _EXCLUSION_TEXT[flag]
        by_category = bool(settings.categories)  # without overrides, no category adds one
        for line in facts.lines:
            if flag in line.exclusions:
                source = "line"
            elif by_category and flag in settings.exclusions_for(line.category):
                source = "category"
            else:
                continue
            found = {"exclusion": flag.value, **_line_facts(line), "source": source}
            return _trusted(Ruling.DENIED, self.rule_id, denied, found, QUALITY_HINT)
        if flag is ExclusionFlag.UNSEALED_DIGITAL and facts.stated_unsealed:
            stated: dict[str, Fact] = {
                "exclusion": flag.value,
                "stated_unsealed": True,
                "source": "request",
            }
            return _trusted(Ruling.DENIED, self.rule_id, denied, stated, QUALITY_HINT)
        count = len(facts.lines)
        key = (self.rule_id, flag, count)
        verdict = _ALLOWED.get(key)
        if verdict is None:
            found_none: dict[str, Fact] = {"exclusion": flag.value, "lines": count}
            verdict = _kept(key, _trusted(Ruling.ALLOWED, self.rule_id, allowed, found_none))
        return verdict


@attrs.frozen
class CategoryExclusionRule:
    """AS-2: a category the shop excludes from no-reason returns is denied one.

    Applies to no-reason returns and exchanges; a category is excluded by
    :attr:`~orderflow.aftersales.PolicySettings.excluded_categories` or by its
    :class:`~orderflow.aftersales.CategoryPolicy`. The denial's facts name the category.
    """

    rule_id: str = attrs.field(default="AS-2-category", validator=_rule_id_setting)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Deny a no-reason return or exchange of goods in an excluded category.

        Returns:
            ``None`` for other requests; else denied (the first excluded line) or allowed.
        """
        if not _no_reason_goods(facts):
            return None
        for line in facts.lines:
            if settings.excludes_category(line.category):
                return _trusted(
                    Ruling.DENIED,
                    self.rule_id,
                    f"Goods in the category {line.category} cannot be returned without a reason.",
                    _line_facts(line),
                    QUALITY_HINT,
                )
        categories = ", ".join(sorted({line.category for line in facts.lines if line.category}))
        key = (self.rule_id, categories)
        verdict = _ALLOWED.get(key)
        if verdict is None:
            verdict = _kept(
                key,
                _trusted(
                    Ruling.ALLOWED,
                    self.rule_id,
                    "None of the goods is in a category excluded from no-reason returns.",
                    {"categories": categories},
                ),
            )
        return verdict


@attrs.frozen
class DeliveredRule:
    """D-5: returns, exchanges and refunds only are for goods delivered.

    Applies to those kinds when the order has no delivery scan, and denies them; the hint
    points to a refund of goods not received.
    """

    rule_id: str = attrs.field(default="D-5-delivered", validator=_rule_id_setting)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Deny a request about received goods when nothing was delivered.

        Returns:
            ``None`` for goods not received and for delivered orders; else denied.
        """
        if facts.kind not in _AFTER_DELIVERY or facts.delivered_at is not None:
            return None
        return _trusted(
            Ruling.DENIED,
            self.rule_id,
            "The goods have not been delivered yet.",
            {
                "kind": facts.kind.value,
                "order_state": facts.order_state,
                "requested_at": facts.requested_at.astimezone(settings.zone),
            },
            "Ask for a refund of goods not received instead.",
        )


@attrs.frozen
class DeliveryDisputeRule:
    """AS-1, D-5: a delivery the buyer disputes after a delivery scan goes to an agent.

    Applies to any request on a delivered order whose reason is a disputed delivery (an
    empty parcel, missing items, a wrong item) or goods not received despite the delivery
    scan; it asks for a manual review.
    """

    rule_id: str = attrs.field(default="AS-4-dispute", validator=_rule_id_setting)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Send a disputed delivery to an agent.

        Returns:
            ``None`` before delivery and for other reasons; else manual review.
        """
        basis = facts.reason.basis
        delivered_at = facts.delivered_at
        if delivered_at is None or basis not in (Basis.DELIVERY_DISPUTE, Basis.NOT_RECEIVED):
            return None
        zone = settings.zone
        return _trusted(
            Ruling.MANUAL,
            self.rule_id,
            f"The delivery is disputed ({facts.reason.description}); an agent will review it.",
            {
                "reason": facts.reason.code,
                "delivered_at": delivered_at.astimezone(zone),
                "requested_at": facts.requested_at.astimezone(zone),
                "order_state": facts.order_state,
            },
            "Keep the parcel and its packing, and add photos of them to the request.",
        )


@attrs.frozen
class NotReceivedRule:
    """AS-1 (1), D-5: a refund of goods not received, before any delivery scan, is allowed.

    Which states it may be asked in is the case machine's to judge (D-5); the policy allows
    it whatever the reason.
    """

    rule_id: str = attrs.field(default="AS-1-not-received", validator=_rule_id_setting)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a refund of goods not received while nothing was delivered.

        Returns:
            ``None`` for other kinds and after a delivery scan; else allowed.
        """
        if facts.kind is not CaseKind.NOT_RECEIVED or facts.delivered_at is not None:
            return None
        return _trusted(
            Ruling.ALLOWED,
            self.rule_id,
            "The goods have not been delivered, so the order can be refunded as not received.",
            {
                "reason": facts.reason.code,
                "order_state": facts.order_state,
                "requested_at": facts.requested_at.astimezone(settings.zone),
                "amount": facts.amount,
            },
        )


@attrs.frozen
class AgreedRefundRule:
    """AS-1 (2): a refund only of delivered goods, within the caps, is allowed.

    Applies to refunds only of delivered goods whose reason is an agreed amount or no reason
    at all (a quality problem is judged by the quality window). The amount is within the caps
    by construction of the request (D-6); the seller still decides in the case.
    """

    rule_id: str = attrs.field(default="AS-4-agreed", validator=_rule_id_setting)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a refund only that the seller may agree to.

        Returns:
            ``None`` for other requests; else allowed.
        """
        delivered_at = facts.delivered_at
        if (
            facts.kind is not CaseKind.REFUND_ONLY
            or delivered_at is None
            or facts.reason.basis not in (Basis.AGREED, Basis.NO_REASON)
        ):
            return None
        return _trusted(
            Ruling.ALLOWED,
            self.rule_id,
            f"A refund of {facts.amount} without returning the goods can be agreed with the "
            "seller.",
            {
                "amount": facts.amount,
                "delivered_at": delivered_at.astimezone(settings.zone),
                "order_state": facts.order_state,
            },
        )


DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    DeliveredRule(),
    DeliveryDisputeRule(),
    NotReceivedRule(),
    ExclusionRule("AS-2a", ExclusionFlag.MADE_TO_ORDER),
    ExclusionRule("AS-2b", ExclusionFlag.PERISHABLE),
    ExclusionRule("AS-2c", ExclusionFlag.UNSEALED_DIGITAL),
    ExclusionRule("AS-2d", ExclusionFlag.PERIODICAL),
    ExclusionRule("AS-2e", ExclusionFlag.CONFIRMED_NON_RETURNABLE),
    CategoryExclusionRule(),
    NoReasonWindowRule(),
    QualityWindowRule(),
    AgreedRefundRule(),
)
"""The default policy's rules, in order (see the table above and ``docs/aftersales-policy.md``)."""
