"""Helpers the after-sales policy tests share: the shop's zone, a delivery, requests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from orderflow import Money
from orderflow.aftersales import (
    CaseKind,
    CaseReason,
    ExclusionFlag,
    Policy,
    PolicySettings,
    RequestedLine,
    RequestFacts,
    WindowMode,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
DELIVERED = datetime(2026, 3, 10, 15, 0, tzinfo=SHANGHAI)
"""The delivery scan of the worked example: a 7-day window ends at 2026-03-18T00:00+08:00."""
NO_REASON_ENDS = datetime(2026, 3, 18, 0, 0, tzinfo=SHANGHAI)
QUALITY_ENDS = datetime(2026, 3, 26, 0, 0, tzinfo=SHANGHAI)
DEFAULT = Policy.default()


def shanghai(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """An instant of March 2026 in Shanghai."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=SHANGHAI)


def line(
    sku: str = "SKU-1",
    quantity: int = 1,
    category: str = "",
    exclusions: Iterable[ExclusionFlag] = (),
    paid: str = "300.00",
) -> RequestedLine:
    """A requested line paid in CNY."""
    return RequestedLine(sku, quantity, category, frozenset(exclusions), Money(paid, "CNY"))


def request(
    kind: CaseKind = CaseKind.RETURN,
    reason: CaseReason = CaseReason.NO_REASON,
    at: datetime | None = None,
    *,
    lines: Iterable[RequestedLine] = (),
    delivered_at: datetime | None = DELIVERED,
    amount: str = "100.00",
    stated_unsealed: bool = False,
    order_state: str = "delivered",
) -> RequestFacts:
    """A request on the worked example's order, on 2026-03-12 at noon by default."""
    return RequestFacts(
        kind,
        reason,
        tuple(lines) or (line(),),
        Money(amount, "CNY"),
        delivered_at,
        shanghai(12) if at is None else at,
        stated_unsealed=stated_unsealed,
        order_state=order_state,
    )


def hours_policy() -> Policy:
    """The default rules, windows counted in 24-hour periods."""
    return Policy.default(PolicySettings(window_mode=WindowMode.HOURS))
