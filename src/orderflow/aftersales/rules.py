"""The default rules of an after-sales policy, each with its own id (AS-1..AS-4, D-4, D-5).

===================== ============================================== =====================
rule id               judges                                          says
===================== ============================================== =====================
``D-5-delivered``     returns, exchanges, refunds only: delivered?    denied before delivery
``AS-4-dispute``      a disputed delivery after a delivery scan       manual review
``AS-1-not-received`` goods not received, before a delivery scan      allowed
``AS-2a`` .. ``AS-2e`` no-reason returns and exchanges: exclusions    denied when excluded
``AS-2-category``     no-reason: a category excluded by the shop      denied when excluded
``AS-2-window``       no-reason: the no-reason window (D-4)           allowed / denied
``AS-3-window``       quality problems: the quality window (D-4)      allowed / denied
``AS-4-agreed``       a refund only of delivered goods                allowed
===================== ============================================== =====================

Exclusions bind the no-reason return only: a quality return of excluded goods is judged by
the quality window alone. A request for some units of a line is judged like the whole line.
A window rule's facts always hold ``delivered_at`` and ``window_ends`` (the first instant
outside the window, in the shop's time zone); when a request names lines whose windows
differ (per-category overrides), the window that ends first decides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Final

import attrs

from orderflow.aftersales.configuration import PolicySettings
from orderflow.aftersales.decisions import Fact, RequestedLine, RequestFacts, Rule, Verdict
from orderflow.aftersales.model import Basis, CaseKind, ExclusionFlag
from orderflow.aftersales.windows import window_end
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_identifier, check_text

__all__ = [
    "DEFAULT_RULES",
    "AgreedRefundRule",
    "CategoryExclusionRule",
    "DeliveredRule",
    "DeliveryDisputeRule",
    "ExclusionRule",
    "NoReasonWindowRule",
    "NotReceivedRule",
    "QualityWindowRule",
]

_GOODS_BACK: Final = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE})
_AFTER_DELIVERY: Final = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE, CaseKind.REFUND_ONLY})
_QUALITY_HINT: Final = "A quality problem can still be reported as a quality return."
_WARRANTY_HINT: Final = (
    "For a fault after the quality window, use the manufacturer's warranty or contact the "
    "shop's after-sales service."
)
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


def _rule_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        check_identifier("rule_id", value)
    except InvalidInput as error:
        raise InvalidConfiguration("rule_id", value, error.problem) from None


def _no_reason_goods(facts: RequestFacts) -> bool:
    """A no-reason return or exchange: what the exclusions and the no-reason window judge."""
    return facts.reason.basis is Basis.NO_REASON and facts.kind in _GOODS_BACK


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

    rule_id: str = attrs.field(validator=_rule_id)
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
        for line in facts.lines:
            if flag in line.exclusions:
                source = "line"
            elif flag in settings.exclusions_for(line.category):
                source = "category"
            else:
                continue
            found = {"exclusion": flag.value, **_line_facts(line), "source": source}
            return Verdict.denied(self.rule_id, denied, found, _QUALITY_HINT)
        if flag is ExclusionFlag.UNSEALED_DIGITAL and facts.stated_unsealed:
            stated: dict[str, Fact] = {
                "exclusion": flag.value,
                "stated_unsealed": True,
                "source": "request",
            }
            return Verdict.denied(self.rule_id, denied, stated, _QUALITY_HINT)
        return Verdict.allowed(
            self.rule_id, allowed, {"exclusion": flag.value, "lines": len(facts.lines)}
        )


@attrs.frozen
class CategoryExclusionRule:
    """AS-2: a category the shop excludes from no-reason returns is denied one.

    Applies to no-reason returns and exchanges; a category is excluded by
    :attr:`~orderflow.aftersales.PolicySettings.excluded_categories` or by its
    :class:`~orderflow.aftersales.CategoryPolicy`. The denial's facts name the category.
    """

    rule_id: str = attrs.field(default="AS-2-category", validator=_rule_id)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Deny a no-reason return or exchange of goods in an excluded category.

        Returns:
            ``None`` for other requests; else denied (the first excluded line) or allowed.
        """
        if not _no_reason_goods(facts):
            return None
        for line in facts.lines:
            if settings.excludes_category(line.category):
                return Verdict.denied(
                    self.rule_id,
                    f"Goods in the category {line.category} cannot be returned without a reason.",
                    _line_facts(line),
                    _QUALITY_HINT,
                )
        categories = ", ".join(sorted({line.category for line in facts.lines if line.category}))
        return Verdict.allowed(
            self.rule_id,
            "None of the goods is in a category excluded from no-reason returns.",
            {"categories": categories},
        )


def _shown(end: datetime, time_zone: str) -> str:
    """A window's end as a customer reads it: ``2026-03-17 24:00 (Asia/Shanghai)``."""
    if end.time() == time(0):
        text = f"{(end.date() - timedelta(days=1)).isoformat()} 24:00"
    else:
        text = end.strftime("%Y-%m-%d %H:%M:%S" if end.second else "%Y-%m-%d %H:%M")
    return f"{text} ({time_zone})"


def _window(
    rule_id: str,
    facts: RequestFacts,
    settings: PolicySettings,
    days_for: Callable[[str], int],
    name: str,
    hint: str,
) -> Verdict:
    """The verdict of a window: allowed strictly before its end, denied from it on (D-4)."""
    delivered_at = facts.delivered_at
    assert delivered_at is not None
    ends = [
        (window_end(delivered_at, days_for(line.category), settings), line) for line in facts.lines
    ]
    end, line = min(ends, key=lambda found: found[0])  # the first line of the earliest end
    days = days_for(line.category)
    zone = settings.zone
    used: dict[str, Fact] = {
        "delivered_at": delivered_at.astimezone(zone),
        "window_ends": end,
        "requested_at": facts.requested_at.astimezone(zone),
        "days": days,
        "window_mode": settings.window_mode.value,
        "time_zone": settings.time_zone,
        "sku": line.sku,
        "category": line.category,
    }
    shown = _shown(end, settings.time_zone)
    if facts.requested_at < end:
        sentence = f"The request is within the {days}-day {name} window, which ends at {shown}."
        return Verdict.allowed(rule_id, sentence, used)
    sentence = f"The {days}-day {name} window ended at {shown}."
    return Verdict.denied(rule_id, sentence, used, hint)


@attrs.frozen
class NoReasonWindowRule:
    """AS-2, D-4: a no-reason return or exchange must come within the no-reason window.

    Applies to no-reason returns and exchanges of delivered goods. The window is the
    category's (:meth:`~orderflow.aftersales.PolicySettings.no_reason_days_for`), 7 days by
    default, counted as :func:`~orderflow.aftersales.window_end` says. Facts: ``delivered_at``,
    ``window_ends``, ``requested_at`` (in the shop's time zone), ``days``, ``window_mode``,
    ``time_zone``, and the ``sku`` and ``category`` of the line whose window decided.
    """

    rule_id: str = attrs.field(default="AS-2-window", validator=_rule_id)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a no-reason request strictly before its window ends, deny it from then on.

        Returns:
            ``None`` for other requests and before delivery; else allowed or denied.
        """
        if not _no_reason_goods(facts) or facts.delivered_at is None:
            return None
        days_for = settings.no_reason_days_for
        return _window(self.rule_id, facts, settings, days_for, "no-reason return", _QUALITY_HINT)


def _hint(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        check_text("hint", value, MAX_LONG_TEXT_LENGTH, required=True)
    except InvalidInput as error:
        raise InvalidConfiguration("hint", value, error.problem) from None


@attrs.frozen
class QualityWindowRule:
    """AS-3, D-4: a quality problem is taken back within the quality window.

    Applies to returns, exchanges and refunds only of delivered goods whose reason is a
    quality problem, excluded goods included (exclusions bind the no-reason return only). The
    window is the category's (:meth:`~orderflow.aftersales.PolicySettings.quality_days_for`),
    15 days by default, counted like the no-reason window; its facts are the same. A denial's
    hint names the warranty and the shop's after-sales service.

    Attributes:
        rule_id: the rule's id.
        hint: what a denial tells the customer to do instead (give the shop's own contact).
    """

    rule_id: str = attrs.field(default="AS-3-window", validator=_rule_id)
    hint: str = attrs.field(default=_WARRANTY_HINT, validator=_hint)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a quality request strictly before its window ends, deny it from then on.

        Returns:
            ``None`` for other requests and before delivery; else allowed or denied.
        """
        if (
            facts.reason.basis is not Basis.QUALITY
            or facts.kind not in _AFTER_DELIVERY
            or facts.delivered_at is None
        ):
            return None
        return _window(
            self.rule_id, facts, settings, settings.quality_days_for, "quality", self.hint
        )


@attrs.frozen
class DeliveredRule:
    """D-5: returns, exchanges and refunds only are for goods delivered.

    Applies to those kinds when the order has no delivery scan, and denies them; the hint
    points to a refund of goods not received.
    """

    rule_id: str = attrs.field(default="D-5-delivered", validator=_rule_id)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Deny a request about received goods when nothing was delivered.

        Returns:
            ``None`` for goods not received and for delivered orders; else denied.
        """
        if facts.kind not in _AFTER_DELIVERY or facts.delivered_at is not None:
            return None
        return Verdict.denied(
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

    rule_id: str = attrs.field(default="AS-4-dispute", validator=_rule_id)

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
        return Verdict.manual(
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

    rule_id: str = attrs.field(default="AS-1-not-received", validator=_rule_id)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a refund of goods not received while nothing was delivered.

        Returns:
            ``None`` for other kinds and after a delivery scan; else allowed.
        """
        if facts.kind is not CaseKind.NOT_RECEIVED or facts.delivered_at is not None:
            return None
        return Verdict.allowed(
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

    rule_id: str = attrs.field(default="AS-4-agreed", validator=_rule_id)

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
        return Verdict.allowed(
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
