"""Order exceptions (异常订单): what can go wrong with an order, how it is found and handled
(EX-1..EX-7, RK-1..RK-4, TM-2..TM-4, TM-7).

* :mod:`orderflow.incidents.case` and :mod:`orderflow.incidents.commands`: the exception case
  (the third machine on the engine, living in the order) and the commands that move it.
* :mod:`orderflow.incidents.amounts`: an amount per currency (thresholds and limits).
* :mod:`orderflow.incidents.compensation`: compensation records and their approval (EX-7).
* :mod:`orderflow.incidents.configuration`: the settings of exception handling.
* :mod:`orderflow.incidents.escalation`: the escalation rule: which level is next (EX-4).
* :mod:`orderflow.incidents.matrix`: the escalation matrix: where a case goes (EX-4).
* :mod:`orderflow.incidents.model`: types, findings and their evidence, playbooks, priorities,
  escalation levels and roles.
* :mod:`orderflow.incidents.targets`: response, solution and follow-up targets (EX-5, TM-7).
* :mod:`orderflow.incidents.context`: the snapshot of what the host knows around an order,
  the port it is gathered through (PT-4) and the gathering.
* :mod:`orderflow.incidents.tracking`: the carrier's tracking events.
* :mod:`orderflow.incidents.detectors` and :mod:`orderflow.incidents.risk`: one small object
  per check, thresholds as configuration (EX-1, RK-1..RK-4).
* :mod:`orderflow.incidents.classify`: the classifier, an ordered list of detectors (EX-2).
"""

from orderflow.incidents.amounts import CurrencyAmounts
from orderflow.incidents.case import ExceptionCase, ExceptionState, Origin
from orderflow.incidents.classify import DEFAULT_DETECTORS, Classifier
from orderflow.incidents.commands import (
    AcknowledgeException,
    CheckRestock,
    CloseException,
    EscalateException,
    ExceptionCommand,
    FlagReviewOverdue,
    FlagShipmentOverdue,
    FlagTrackingSilence,
    MissExceptionTarget,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
    RecordTracking,
    ResolveException,
)
from orderflow.incidents.compensation import (
    Compensation,
    CompensationCheck,
    CompensationKind,
    CompensationProblem,
    check_compensation,
)
from orderflow.incidents.configuration import IncidentSettings
from orderflow.incidents.context import (
    DEFAULT_LOOKBACK,
    Context,
    ContextPort,
    Lookback,
    RecentLine,
    RecentOrder,
    gather_context,
)
from orderflow.incidents.detectors import (
    CN_MOBILE,
    E164,
    CustomerInfoDetector,
    Detector,
    OutOfStockDetector,
    PriceErrorDetector,
)
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
from orderflow.incidents.risk import (
    AddressAccountsDetector,
    CustomerFrequencyDetector,
    DuplicateOrderDetector,
    DuplicatePaymentDetector,
    LatePaymentDetector,
)
from orderflow.incidents.targets import ServiceTargets, is_due
from orderflow.incidents.tracking import TrackingDetector, TrackingEvent, TrackingKind
from orderflow.incidents.transition import ExceptionTransition

__all__ = [
    "CN_MOBILE",
    "DEFAULT_DETECTORS",
    "DEFAULT_ESCALATION_ROLES",
    "DEFAULT_ESCALATION_ROWS",
    "DEFAULT_LOOKBACK",
    "E164",
    "NOT_ESCALATED",
    "PLAYBOOKS",
    "AcknowledgeException",
    "AddressAccountsDetector",
    "CaseFacts",
    "CheckRestock",
    "Classifier",
    "CloseException",
    "Compensation",
    "CompensationCheck",
    "CompensationKind",
    "CompensationProblem",
    "Context",
    "ContextPort",
    "CurrencyAmounts",
    "CustomerFrequencyDetector",
    "CustomerInfoDetector",
    "Detector",
    "DuplicateOrderDetector",
    "DuplicatePaymentDetector",
    "EscalateException",
    "EscalationMatrix",
    "EscalationProblem",
    "EscalationRow",
    "Evidence",
    "ExceptionCase",
    "ExceptionCommand",
    "ExceptionState",
    "ExceptionTransition",
    "ExceptionType",
    "Finding",
    "FlagReviewOverdue",
    "FlagShipmentOverdue",
    "FlagTrackingSilence",
    "IncidentSettings",
    "LatePaymentDetector",
    "Level",
    "Lookback",
    "MissExceptionTarget",
    "OpenException",
    "Origin",
    "OutOfStockDetector",
    "PriceErrorDetector",
    "Priority",
    "RecentLine",
    "RecentOrder",
    "RecordCompensation",
    "RecordFollowUp",
    "RecordTracking",
    "Resolution",
    "ResolveException",
    "Role",
    "Routing",
    "ServiceTargets",
    "TrackingDetector",
    "TrackingEvent",
    "TrackingKind",
    "check_compensation",
    "escalation_problem",
    "escalation_target",
    "gather_context",
    "is_due",
]
