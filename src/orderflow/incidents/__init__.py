"""Order exceptions (异常订单): what can go wrong with an order, how it is found and handled
(EX-1..EX-7, RK-1..RK-4, TM-2..TM-4, TM-7).

* :mod:`orderflow.incidents.model`: types, findings and their evidence, playbooks, priorities,
  escalation levels and roles.
* :mod:`orderflow.incidents.context`: the snapshot of what the host knows around an order,
  the port it is gathered through (PT-4) and the gathering.
* :mod:`orderflow.incidents.tracking`: the carrier's tracking events.
* :mod:`orderflow.incidents.detectors` and :mod:`orderflow.incidents.risk`: one small object
  per check, thresholds as configuration (EX-1, RK-1..RK-4).
* :mod:`orderflow.incidents.classify`: the classifier, an ordered list of detectors (EX-2).
"""

from orderflow.incidents.classify import DEFAULT_DETECTORS, Classifier
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
from orderflow.incidents.tracking import TrackingDetector, TrackingEvent, TrackingKind

__all__ = [
    "CN_MOBILE",
    "DEFAULT_DETECTORS",
    "DEFAULT_LOOKBACK",
    "E164",
    "PLAYBOOKS",
    "AddressAccountsDetector",
    "Classifier",
    "Context",
    "ContextPort",
    "CustomerFrequencyDetector",
    "CustomerInfoDetector",
    "Detector",
    "DuplicateOrderDetector",
    "DuplicatePaymentDetector",
    "Evidence",
    "ExceptionType",
    "Finding",
    "LatePaymentDetector",
    "Level",
    "Lookback",
    "OutOfStockDetector",
    "PriceErrorDetector",
    "Priority",
    "RecentLine",
    "RecentOrder",
    "Resolution",
    "Role",
    "TrackingDetector",
    "TrackingEvent",
    "TrackingKind",
    "gather_context",
]
