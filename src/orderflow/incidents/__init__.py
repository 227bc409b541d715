"""Order exceptions (异常订单): what can go wrong with an order, how it is found and handled
(EX-1..EX-7, RK-1..RK-4, TM-2..TM-4, TM-7).

* :mod:`orderflow.incidents.amounts`: an amount per currency (thresholds and limits).
* :mod:`orderflow.incidents.matrix`: the escalation matrix and the escalation rule (EX-4).
* :mod:`orderflow.incidents.model`: types, findings and their evidence, playbooks, priorities,
  escalation levels and roles.
* :mod:`orderflow.incidents.targets`: response, solution and follow-up targets (EX-5, TM-7).
"""

from orderflow.incidents.amounts import CurrencyAmounts
from orderflow.incidents.matrix import (
    DEFAULT_ESCALATION_ROLES,
    DEFAULT_ESCALATION_ROWS,
    NOT_ESCALATED,
    CaseFacts,
    EscalationMatrix,
    EscalationProblem,
    EscalationRow,
    Routing,
    escalation_problem,
    escalation_target,
)
from orderflow.incidents.model import (
    PLAYBOOKS,
    Evidence,
    ExceptionType,
    Finding,
    Level,
    Priority,
    Resolution,
    Role,
)
from orderflow.incidents.targets import ServiceTargets, is_due

__all__ = [
    "DEFAULT_ESCALATION_ROLES",
    "DEFAULT_ESCALATION_ROWS",
    "NOT_ESCALATED",
    "PLAYBOOKS",
    "CaseFacts",
    "CurrencyAmounts",
    "EscalationMatrix",
    "EscalationProblem",
    "EscalationRow",
    "Evidence",
    "ExceptionType",
    "Finding",
    "Level",
    "Priority",
    "Resolution",
    "Role",
    "Routing",
    "ServiceTargets",
    "escalation_problem",
    "escalation_target",
    "is_due",
]
