"""After-sales: refunds, returns and exchanges whose decisions explain themselves (AS-1..AS-7).

* :mod:`orderflow.aftersales.model`: kinds, reasons, exclusions, return conditions.
* :mod:`orderflow.aftersales.policy`: policies, ordered lists of rules that decide a request
  and explain themselves (AS-2..AS-4), and the snapshot an order carries;
  :mod:`~orderflow.aftersales.rules` the default rules, :mod:`~orderflow.aftersales.windows`
  the no-reason and quality windows and their rules (D-4),
  :mod:`~orderflow.aftersales.configuration` the settings a shop configures,
  :mod:`~orderflow.aftersales.requests` what a rule looks at,
  :mod:`~orderflow.aftersales.decisions` verdicts and decisions.
"""

from orderflow.aftersales.configuration import CategoryPolicy, PolicySettings, ResponseAction
from orderflow.aftersales.decisions import (
    Decision,
    Fact,
    Rule,
    Ruling,
    Verdict,
    return_shipping_payer,
)
from orderflow.aftersales.model import (
    Basis,
    CaseKind,
    CaseReason,
    ExclusionFlag,
    ReturnCondition,
    ShippingPayer,
)
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
    "DEFAULT_RULES",
    "POLICY_RULE_ID",
    "AgreedRefundRule",
    "Basis",
    "CaseKind",
    "CaseReason",
    "CategoryExclusionRule",
    "CategoryPolicy",
    "Decision",
    "DeliveredRule",
    "DeliveryDisputeRule",
    "ExclusionFlag",
    "ExclusionRule",
    "Fact",
    "NoReasonWindowRule",
    "NotReceivedRule",
    "Policy",
    "PolicySettings",
    "PolicySnapshot",
    "QualityWindowRule",
    "RequestFacts",
    "RequestedLine",
    "ResponseAction",
    "ReturnCondition",
    "Rule",
    "Ruling",
    "ShippingPayer",
    "Verdict",
    "WindowMode",
    "return_shipping_payer",
    "window_end",
]
