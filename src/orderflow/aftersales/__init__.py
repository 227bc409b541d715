"""After-sales: refunds, returns and exchanges whose decisions explain themselves (AS-1..AS-7).

* :mod:`orderflow.aftersales.model`: kinds, reasons, exclusions, return conditions.
* :mod:`orderflow.aftersales.policy`: policies, ordered lists of rules that decide a request
  and explain themselves (AS-2..AS-4), and the snapshot an order carries;
  :mod:`~orderflow.aftersales.rules` the default rules, :mod:`~orderflow.aftersales.windows`
  the no-reason and quality windows and their rules (D-4),
  :mod:`~orderflow.aftersales.configuration` the settings a shop configures,
  :mod:`~orderflow.aftersales.requests` what a rule looks at,
  :mod:`~orderflow.aftersales.decisions` verdicts and decisions.
* :mod:`orderflow.aftersales.case`: the case an order holds, its states and lines;
  :mod:`~orderflow.aftersales.commands` the request and the decisions on it,
  :mod:`~orderflow.aftersales.followups` the commands that follow (goods, timers) and the
  money-only refund;
  :mod:`~orderflow.aftersales.money` where refunds stand against the caps (D-6, D-11).
* The case machine itself is :mod:`orderflow.aftersales.definition`, run by
  :class:`orderflow.Lifecycle` on the same engine as the order lifecycle.
"""

from orderflow.aftersales.case import (
    FINAL_CASE_STATES,
    AfterSalesCase,
    CaseLine,
    CaseState,
    CaseTransition,
    Parcel,
)
from orderflow.aftersales.commands import (
    ApproveCase,
    AskForReview,
    CaseCommand,
    DecideReview,
    OverrideDenial,
    RejectCase,
    RequestAfterSales,
    ShareRequest,
    Units,
)
from orderflow.aftersales.configuration import CategoryPolicy, PolicySettings, ResponseAction
from orderflow.aftersales.decisions import (
    Decision,
    Fact,
    Rule,
    Ruling,
    Verdict,
    return_shipping_payer,
)
from orderflow.aftersales.followups import (
    CASE_COMMAND_TYPES,
    CloseCase,
    CloseReturnWindow,
    ExpireCase,
    ReceiveOverdueReturn,
    ReceiveReturn,
    RefundMoneyOnly,
    RemindStaff,
    ReportReturnLost,
    RespondForSeller,
    ShipBack,
    ShipReplacement,
)
from orderflow.aftersales.model import (
    Basis,
    CaseKind,
    CaseReason,
    ExclusionFlag,
    ReturnCondition,
    ShippingPayer,
)
from orderflow.aftersales.money import LineStanding, Standing, standing
from orderflow.aftersales.policy import POLICY_RULE_ID, Policy, PolicySnapshot
from orderflow.aftersales.requests import RequestedLine, RequestFacts
from orderflow.aftersales.rules import (
    DEFAULT_RULES,
    AgreedRefundRule,
    CategoryExclusionRule,
    DeliveredRule,
    DeliveryDisputeRule,
    ExclusionRule,
    NotReceivedRule,
)
from orderflow.aftersales.windows import (
    NoReasonWindowRule,
    QualityWindowRule,
    WindowMode,
    window_end,
)

__all__ = [
    "CASE_COMMAND_TYPES",
    "DEFAULT_RULES",
    "FINAL_CASE_STATES",
    "POLICY_RULE_ID",
    "AfterSalesCase",
    "AgreedRefundRule",
    "ApproveCase",
    "AskForReview",
    "Basis",
    "CaseCommand",
    "CaseKind",
    "CaseLine",
    "CaseReason",
    "CaseState",
    "CaseTransition",
    "CategoryExclusionRule",
    "CategoryPolicy",
    "CloseCase",
    "CloseReturnWindow",
    "DecideReview",
    "Decision",
    "DeliveredRule",
    "DeliveryDisputeRule",
    "ExclusionFlag",
    "ExclusionRule",
    "ExpireCase",
    "Fact",
    "LineStanding",
    "NoReasonWindowRule",
    "NotReceivedRule",
    "OverrideDenial",
    "Parcel",
    "Policy",
    "PolicySettings",
    "PolicySnapshot",
    "QualityWindowRule",
    "ReceiveOverdueReturn",
    "ReceiveReturn",
    "RefundMoneyOnly",
    "RejectCase",
    "RemindStaff",
    "ReportReturnLost",
    "RequestAfterSales",
    "RequestFacts",
    "RequestedLine",
    "RespondForSeller",
    "ResponseAction",
    "ReturnCondition",
    "Rule",
    "Ruling",
    "ShareRequest",
    "ShipBack",
    "ShipReplacement",
    "ShippingPayer",
    "Standing",
    "Units",
    "Verdict",
    "WindowMode",
    "return_shipping_payer",
    "standing",
    "window_end",
]
