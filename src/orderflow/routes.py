"""Which handler carries out each effect class: the table a relay is built with.

:class:`Routes` links each effect class to a handler taking exactly that class, so that a
type checker verifies the pair; :class:`~orderflow.relay.OutboxRelay` takes it (or a plain
mapping) and checks that every effect class has a handler or is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from orderflow.effects import Effect
from orderflow.errors import InvalidConfiguration

__all__ = ["Routes"]

E = TypeVar("E", bound=Effect)


class Routes:
    """Which handler carries out each effect class: a typed way to build a relay's table.

    Each ``on`` links a class to a handler taking exactly that class, so a type checker
    verifies the pair and the handler needs no ``isinstance``::

        routes = Routes().on(RequestRefund, pay_back).on(ReleaseStock, warehouse.release)

    ``Routes`` is immutable: ``on`` returns a new table.
    """

    __slots__ = ("_handlers",)

    def __init__(
        self, handlers: Mapping[type[Effect], Callable[[Any], None]] | None = None
    ) -> None:
        self._handlers: dict[type[Effect], Callable[[Any], None]] = {}
        for kind, handler in (handlers or {}).items():
            self._add(kind, handler)

    def on(self, kind: type[E], handler: Callable[[E], None]) -> Routes:
        """A table with ``handler`` for the effects of class ``kind`` too.

        Args:
            kind: an effect class (``RequestRefund``, ``NotifyCustomer``, ...).
            handler: carries out one effect of that class; raises on failure.

        Returns:
            The new table.

        Raises:
            InvalidConfiguration: ``kind`` is not an effect class, is routed already, or the
                handler is not callable.
        """
        routes = Routes(self._handlers)
        routes._add(kind, handler)
        return routes

    def _add(self, kind: object, handler: object) -> None:
        _check_kind("handlers", kind)
        assert isinstance(kind, type)
        if kind in self._handlers:
            raise InvalidConfiguration("handlers", kind.__name__, "has a handler already")
        if not callable(handler):
            raise InvalidConfiguration(f"handlers[{kind.__name__}]", handler, "is not callable")
        self._handlers[kind] = handler

    def as_dict(self) -> dict[type[Effect], Callable[[Any], None]]:
        """The table as a plain mapping from effect class to handler."""
        return dict(self._handlers)

    def __repr__(self) -> str:
        """The routed classes."""
        return f"Routes({', '.join(sorted(kind.__name__ for kind in self._handlers))})"


def _check_kind(setting: str, kind: object) -> None:
    if isinstance(kind, str):
        raise InvalidConfiguration(
            setting, kind, "key handlers by effect class (RequestRefund), not by kind name"
        )
    if not isinstance(kind, type) or not issubclass(kind, Effect):
        raise InvalidConfiguration(setting, kind, "must be an effect class")
    if kind is Effect:
        raise InvalidConfiguration(setting, "Effect", "name each effect class, not their base")
