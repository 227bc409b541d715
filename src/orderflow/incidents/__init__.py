"""Order exceptions (异常订单): what can go wrong with an order, how it is found and handled
(EX-1..EX-7, RK-1..RK-4, TM-2..TM-4, TM-7).

* :mod:`orderflow.incidents.amounts`: an amount per currency (thresholds and limits).
* :mod:`orderflow.incidents.compensation`: compensation records and their approval (EX-7).
* :mod:`orderflow.incidents.configuration`: the settings of exception handling.
* :mod:`orderflow.incidents.escalation`: the escalation rule: which level is next (EX-4).
* :mod:`orderflow.incidents.matrix`: the escalation matrix: where a case goes (EX-4).
* :mod:`orderflow.incidents.model`: types, findings and their evidence, playbooks, priorities,
  escalation levels and roles.
* :mod:`orderflow.incidents.targets`: response, solution and follow-up targets (EX-5, TM-7).
"""

from orderflow.incidents.amounts import CurrencyAmounts
from orderflow.incidents.compensation import (
    Compensation,
    CompensationCheck,
    CompensationKind,
    CompensationProblem,
    check_compensation,
)
from orderflow.incidents.configuration import IncidentSettings
from orderflow.incidents.escalation import (
    EscalationProblem,
    escalation_problem,
    escalation_target,
)
from orderflow.incidents.matrix import (
    DEFAULT_ESCALATION_ROLES,
    DEFAULT_ESCALATION_ROWS,
    NOT_ESCALATED,
    CaseFacts,
    EscalationMatrix,
    EscalationRow,
    Routing,
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
    "Compensation",
    "CompensationCheck",
    "CompensationKind",
    "CompensationProblem",
    "CurrencyAmounts",
    "EscalationMatrix",
    "EscalationProblem",
    "EscalationRow",
    "Evidence",
    "ExceptionType",
    "Finding",
    "IncidentSettings",
    "Level",
    "Priority",
    "Resolution",
    "Role",
    "Routing",
    "ServiceTargets",
    "check_compensation",
    "escalation_problem",
    "escalation_target",
    "is_due",
]
