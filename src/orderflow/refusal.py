"""A refusal: one reason why the business says no to a command, with a stable code, a
sentence an agent can read to a customer, a hint and a category a host maps to a status.

:class:`~orderflow.errors.CommandRefused` carries one or more of them.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = ["Refusal", "RefusalCategory"]


class RefusalCategory(enum.StrEnum):
    """What kind of "no" a refusal is: the actor, the order's state, or the payload.

    Reasons are listed in this order (a refusal's first reason is its most fundamental), and
    :attr:`http_status` gives the status a web host usually answers with.
    """

    FORBIDDEN = "forbidden"
    """This actor may not do this (another customer's order, a missing permission)."""
    CONFLICT = "conflict"
    """Not possible in the order's state, or conflicting with what was already applied."""
    INVALID = "invalid"
    """The command's payload does not fit this order (an unknown SKU, another currency)."""

    @property
    def http_status(self) -> int:
        """403, 409 or 422."""
        return _HTTP_STATUS[self]

    @property
    def rank(self) -> int:
        """The position of the category in the order reasons are listed in."""
        return _RANK[self]


_HTTP_STATUS: Final = {
    RefusalCategory.FORBIDDEN: 403,
    RefusalCategory.CONFLICT: 409,
    RefusalCategory.INVALID: 422,
}
_RANK: Final = {category: rank for rank, category in enumerate(RefusalCategory)}


@attrs.frozen
class Refusal:
    """One reason why a command is not allowed.

    Attributes:
        code: a stable, machine-readable code, ``<command>.<reason>``: the refused command's
            event name (its class name in snake case) and the reason, as in
            ``"close.already_shipped"`` (see ``docs/refusals.md`` for every code).
        message: a sentence an agent can read to a customer.
        hint: what to do instead.
        rule: the business rule that decided (for example ``"CL-1"``), or ``""``.
        category: what kind of "no" it is, which a host maps to a protocol status.
    """

    code: str
    message: str
    hint: str = ""
    rule: str = ""
    category: RefusalCategory = attrs.field(default=RefusalCategory.CONFLICT)

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        return f"{text} {self.hint}" if self.hint else text
