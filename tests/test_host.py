"""A web host's glue, built the way a shop would build it, from public names only.

The small "app" below maps HTTP-like requests onto the service: refusals to statuses by their
category, errors to statuses, views to JSON bodies, ``If-Match`` to ``expected_version``. If
the library's public API lacked something a host needs, this file would have to reach into
private names; the test that scans it for them keeps it honest.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orderflow
from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Close,
    CloseReason,
    CommandRefused,
    ConcurrencyConflict,
    InvalidInput,
    Money,
    OrderLine,
    OrderNotFound,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
)
from orderflow.adapters.sql import SqlStore
from orderflow.commands import Command
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from orderflow.views import view_availability, view_history, view_order, view_outcome, view_refusal

Response = tuple[int, dict[str, Any]]


class ShopApi:
    """What a FastAPI or Django shop writes around orderflow: a handful of lines."""

    def __init__(self, service: OrderService) -> None:
        self.service = service

    def _answer(self, call: Any) -> Response:
        try:
            return 200, call()
        except CommandRefused as refused:
            return refused.category.http_status, dict(view_refusal(refused))
        except ConcurrencyConflict as conflict:
            return 412, {"error": "stale", "version": conflict.actual_version}
        except OrderNotFound:
            return 404, {"error": "not found"}
        except InvalidInput as error:
            return 422, {"error": "invalid", "field": error.field, "problem": error.problem}

    def place(self, command: PlaceOrder, actor: Actor) -> Response:
        """POST /orders"""
        return self._answer(lambda: view_outcome(self.service.place(command, actor)))

    def get(self, order_id: str) -> Response:
        """GET /orders/{id}"""
        return self._answer(lambda: view_order(self.service.get(order_id)))

    def history(self, order_id: str) -> Response:
        """GET /orders/{id}/history"""
        return self._answer(lambda: {"entries": view_history(self.service.get(order_id))})

    def actions(self, order_id: str, actor: Actor) -> Response:
        """GET /orders/{id}/actions"""
        return self._answer(lambda: view_availability(self.service.available(order_id, actor)))

    def command(
        self, order_id: str, command: Command, actor: Actor, if_match: int | None = None
    ) -> Response:
        """POST /orders/{id}/commands, with an optional If-Match header (the version)."""
        return self._answer(
            lambda: view_outcome(
                self.service.handle(order_id, command, actor, expected_version=if_match)
            )
        )


START = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
BUYER = Actor.customer("c-1")
AGENT = Actor.staff("agent-7", *sorted(Permission.all()))
GATEWAY = Actor.system("gateway")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou")
LINES = (OrderLine("TEA", 2, Money("44.00", "CNY")),)


def _json(response: Response) -> Response:
    status, body = response
    return status, json.loads(json.dumps(body))


def test_a_web_host_maps_refusals_errors_and_views_with_public_names_only() -> None:
    """Statuses come from categories, bodies from views, If-Match from versions."""
    clock = ManualClock(START)
    store = SqlStore.sqlite()
    api = ShopApi(OrderService(store, clock=clock))

    status, body = _json(api.place(PlaceOrder("SO-1", "c-1", LINES, ADDRESS), BUYER))
    assert status == 200
    assert body["order"]["version"] == 1
    assert body["order"]["amount_due"] == {"amount": "88.00", "currency": "CNY"}

    clock.advance(timedelta(minutes=1))
    status, body = _json(api.command("SO-1", Pay(Money("88.00", "CNY"), "alipay-1"), GATEWAY))
    assert (status, body["order"]["state"], body["order"]["version"]) == (200, "paid", 2)

    status, body = _json(api.command("SO-1", Ship("SF", "SF1"), BUYER))
    assert (status, body["code"], body["category"]) == (403, "ship.forbidden", "forbidden")
    status, body = _json(
        api.command("SO-1", Close(CloseReason.CUSTOMER_CANCELLED), Actor.customer("c-2"))
    )
    assert (status, body["code"]) == (403, "close.not_owner")
    status, body = _json(api.command("SO-1", Ship("SF", "SF1"), AGENT))
    assert (status, body["code"]) == (409, "ship.not_ready")
    status, body = _json(api.command("SO-1", Pay(Money("5.00", "CNY"), "x"), GATEWAY))
    assert status == 200  # a second payment is recorded, never applied, and refunded (RK-3)
    assert [effect["kind"] for effect in body["effects"]] == ["request_refund", "open_case"]

    status, body = _json(api.command("SO-1", ApproveReview(), AGENT, if_match=2))
    assert status == 412
    status, body = _json(api.get("SO-1"))
    version = body["version"]
    status, body = _json(api.command("SO-1", ApproveReview(), AGENT, if_match=version))
    assert (status, body["order"]["state"]) == (200, "awaiting_shipment")

    status, body = _json(api.actions("SO-1", BUYER))
    assert status == 200
    assert "close" in body["allowed"]
    assert "ship" not in body["allowed"]
    assert "ship" not in body["refused"]

    status, body = _json(api.history("SO-1"))
    assert [entry["event"] for entry in body["entries"]][:2] == ["place_order", "pay"]
    assert _json(api.get("SO-404"))[0] == 404
    store.close()


def test_the_host_glue_uses_no_private_name() -> None:
    """The glue above imports only public modules and names, and touches no ``_`` attribute
    of the library."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orderflow"):
            assert not any(part.startswith("_") for part in node.module.split("."))
            for alias in node.names:
                assert not alias.name.startswith("_"), alias.name
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            assert node.attr in {"_answer", "_json"} or node.attr.startswith("__"), node.attr
    assert hasattr(orderflow, "RefusalCategory")
