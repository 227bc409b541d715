"""What a command did to an exception case, as the order's history records it."""

from __future__ import annotations

from typing import NamedTuple

from orderflow.incidents.case import ExceptionState

__all__ = ["ExceptionTransition"]


class ExceptionTransition(NamedTuple):
    """One move of an exception case (EX-6: every step in history).

    Attributes:
        case_id: the case.
        from_state: its state before (``new`` for the command that opened it).
        to_state: its state after.
        rule: what moved it when it was not a person (``"TM-7"``, ``"order_closed"``).
    """

    case_id: str
    from_state: ExceptionState
    to_state: ExceptionState
    rule: str = ""
