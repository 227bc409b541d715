"""The settings of order exception handling: the escalation matrix, the service targets, the
high-value threshold and the compensation limit (EX-4, EX-5, EX-7).

:class:`IncidentSettings` gathers them, each checked when it is built and refused with
:class:`~orderflow.errors.InvalidConfiguration` naming the setting, and answers the questions
the exception case machine asks: is this order high value, where does this case go, may this
compensation be recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.incidents.amounts import CurrencyAmounts
from orderflow.incidents.compensation import Compensation, CompensationCheck, check_compensation
from orderflow.incidents.matrix import CaseFacts, EscalationMatrix, Routing
from orderflow.incidents.model import ExceptionType
from orderflow.incidents.targets import ServiceTargets
from orderflow.money import Money

__all__ = ["IncidentSettings"]


def _kind_of(setting: str, kind: type) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise InvalidConfiguration(setting, value, f"must be {kind.__name__}")

    return check


@attrs.frozen
class IncidentSettings:
    """How a shop handles order exceptions: escalation, targets, high value, compensation.

    Attributes:
        matrix: the escalation matrix (EX-4; default: the seed's rows, see
            :mod:`orderflow.incidents.matrix`).
        targets: the response, solution and follow-up targets and the classifier's
            priorities (EX-5; see :class:`~orderflow.incidents.ServiceTargets`).
        high_value_threshold: an order whose amount due is at or above this, in its
            currency, is high value (EX-4; default 1000.00 in any currency: 1000.00 CNY,
            1000 JPY). In a currency without a threshold (a fallback of ``None`` and no
            entry) no order is high value.
        compensation_limit: a case's total compensation strictly above this, in the order's
            currency, needs approval (EX-7; default 100.00 in any currency). In a currency
            without a limit every compensation needs approval.

    Raises:
        InvalidConfiguration: a setting of the wrong kind (each is checked when its own
            value is built).
    """

    matrix: EscalationMatrix = attrs.field(
        factory=EscalationMatrix, validator=_kind_of("incidents.matrix", EscalationMatrix)
    )
    targets: ServiceTargets = attrs.field(
        factory=ServiceTargets, validator=_kind_of("incidents.targets", ServiceTargets)
    )
    high_value_threshold: CurrencyAmounts = attrs.field(
        factory=lambda: CurrencyAmounts(Decimal("1000.00")),
        validator=_kind_of("incidents.high_value_threshold", CurrencyAmounts),
    )
    compensation_limit: CurrencyAmounts = attrs.field(
        factory=lambda: CurrencyAmounts(Decimal("100.00")),
        validator=_kind_of("incidents.compensation_limit", CurrencyAmounts),
    )

    def is_high_value(self, amount_due: Money) -> bool:
        """Whether an order with this amount due is high value: at or above the threshold.

        Args:
            amount_due: the order's amount due.

        Returns:
            ``True`` at or above the threshold of its currency; ``False`` below it, or when
            the currency has no threshold.

        Raises:
            InvalidInput: ``amount_due`` is not Money.
        """
        if not isinstance(amount_due, Money):
            raise InvalidInput("amount_due", amount_due, "must be Money")
        threshold = self.high_value_threshold.in_currency(amount_due.currency)
        return threshold is not None and amount_due >= threshold

    def facts(
        self,
        amount_due: Money,
        *,
        vip: bool = False,
        orders_affected: int = 1,
        major_complaint: bool = False,
        overdue: bool = False,
    ) -> CaseFacts:
        """The facts the matrix reads, high value decided from the order's amount due.

        Args:
            amount_due: the order's amount due.
            vip: the customer is a VIP.
            orders_affected: how many orders the same problem affects.
            major_complaint: an agent marked the complaint major.
            overdue: the case missed its promised time.

        Returns:
            The facts.

        Raises:
            InvalidInput: a value of the wrong kind (see :class:`CaseFacts`).
        """
        return CaseFacts(
            vip=vip,
            high_value=self.is_high_value(amount_due),
            orders_affected=orders_affected,
            major_complaint=major_complaint,
            overdue=overdue,
        )

    def route(self, type: ExceptionType, facts: CaseFacts) -> Routing:
        """Where a case goes: :meth:`EscalationMatrix.route` with this matrix."""
        return self.matrix.route(type, facts)

    def check_compensation(
        self, recorded: Iterable[Compensation], new: Compensation, currency: str
    ) -> CompensationCheck:
        """Judge a compensation about to be recorded: :func:`check_compensation` with this
        limit.

        Args:
            recorded: the compensations the case has recorded already.
            new: the one to record.
            currency: the order's currency.

        Returns:
            The verdict (see :class:`~orderflow.incidents.CompensationCheck`).

        Raises:
            InvalidInput: see :func:`~orderflow.incidents.check_compensation`.
        """
        return check_compensation(recorded, new, self.compensation_limit, currency)
