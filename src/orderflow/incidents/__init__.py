"""Order exceptions (异常订单): what can go wrong with an order, how it is found and handled
(EX-1..EX-7, RK-1..RK-4, TM-2..TM-4, TM-7).

* :mod:`orderflow.incidents.model`: types, findings and their evidence, playbooks, priorities,
  escalation levels and roles.
"""

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

__all__ = [
    "PLAYBOOKS",
    "Evidence",
    "ExceptionType",
    "Finding",
    "Level",
    "Priority",
    "Resolution",
    "Role",
]
