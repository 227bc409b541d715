"""After-sales: refunds, returns and exchanges whose decisions explain themselves (AS-1..AS-7).

* :mod:`orderflow.aftersales.model`: kinds, reasons, exclusions, return conditions.
"""

from orderflow.aftersales.model import (
    Basis,
    CaseKind,
    CaseReason,
    ExclusionFlag,
    ReturnCondition,
    ShippingPayer,
)

__all__ = ["Basis", "CaseKind", "CaseReason", "ExclusionFlag", "ReturnCondition", "ShippingPayer"]
