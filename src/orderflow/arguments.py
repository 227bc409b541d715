"""The checks of the arguments the lifecycle's entry points are given (order, command,
actor, time), made before anything is judged.

Each raises :class:`~orderflow.errors.InvalidInput` naming the argument and the problem.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from orderflow import commands as c
from orderflow.errors import InvalidInput
from orderflow.inputs import check_time
from orderflow.model import Actor
from orderflow.order import Order

__all__: list[str] = []


def _has_required_fields(command_class: type[c.Command]) -> bool:
    return any(
        field.default is attrs.NOTHING and field.init for field in attrs.fields(command_class)
    )


def _check_actor_and_time(actor: object, at: object) -> None:
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", actor, "must be an orderflow.Actor")
    check_time("at", at)


def _check_arguments(order: object, command: object, actor: object, at: object) -> None:
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
    if not isinstance(command, c.Command) or isinstance(command, c.PlaceOrder):
        raise InvalidInput("command", command, "must be a command for an existing order")
    _check_actor_and_time(actor, at)
    assert isinstance(at, datetime)
    last = order.history.last.at
    try:
        earlier = at < last
    except TypeError:
        raise InvalidInput("at", at, "cannot be compared with the order's times") from None
    if earlier:
        raise InvalidInput("at", at, f"is earlier than the order's last change ({last})")
