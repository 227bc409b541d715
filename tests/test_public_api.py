"""The public facade: names appear or disappear only on purpose, and all are documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import orderflow

EXPECTED = {
    "LIFECYCLE", "Actor", "ActorKind", "Address", "ApproveReview", "AuditReport",
    "AutoCloseUnpaid", "AutoConfirmReceipt", "Availability", "BeginPayment", "ChangeAddress",
    "ChangeLines",
    "ChangePrice", "Close", "CloseReason", "Closure", "Command", "CommandRefused",
    "ConfirmDelivery", "ConfirmReceipt", "ConfirmRefund", "CurrencyMismatch", "Deadline",
    "DeadlineKind", "DefinitionError", "Divergence", "DocumentError", "Effect", "FailPayment",
    "FailRefund",
    "HistoryEntry", "Hold", "HoldRecord", "InvalidConfiguration", "InvalidInput",
    "InvariantViolation", "Ledger", "Lifecycle", "Money", "NotificationTopic", "NotifyCustomer",
    "OpenCase", "Order", "OrderLine", "OrderState", "OrderflowError", "Outcome", "Pay", "Payment",
    "Permission", "PlaceOrder", "Refund", "RefundReason", "RefundStatus", "Refusal", "Release",
    "ReleaseStock", "RequestRefund", "ReserveStock", "RetryRefund", "Settings", "Ship",
    "Shipment", "StartFulfilment", "WithdrawFromFulfilment", "__version__", "check_invariants",
    "register_currency", "audit", "audit_store", "CatalogueEntry", "ConcurrencyConflict",
    "EntryNotFound", "Limits", "OrderAlreadyExists", "OrderNotFound", "RefusalCategory",
    "StoreError", "AlertStaff", "LineShare", "Preview",
}  # fmt: skip


def test_the_facade_exports_exactly_the_expected_names() -> None:
    """Adding or removing a public name is a deliberate change made here too."""
    assert set(orderflow.__all__) == EXPECTED
    for name in orderflow.__all__:
        assert hasattr(orderflow, name), name


def _public_modules() -> list[ModuleType]:
    """Every module of the package whose name has no leading underscore (the SQL store's
    inner modules are its implementation: the package's ``__all__`` is its public face)."""
    found: list[ModuleType] = [orderflow]
    for info in pkgutil.walk_packages(orderflow.__path__, "orderflow."):
        inner = info.name.startswith("orderflow.adapters.sql.")
        if not inner and not any(part.startswith("_") for part in info.name.split(".")):
            found.append(importlib.import_module(info.name))
    return found


def test_every_public_module_declares_its_names() -> None:
    """Every public module has a docstring and an ``__all__`` of names it defines."""
    for module in _public_modules():
        assert inspect.getdoc(module), f"{module.__name__} lacks a docstring"
        names = getattr(module, "__all__", None)
        assert names is not None, f"{module.__name__} lacks __all__"
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name} is missing"


def test_every_public_name_has_a_docstring() -> None:
    """Every public class and function, in the facade and the kit, is documented."""
    modules = _public_modules()
    assert len(modules) > 15
    for module in modules:
        assert inspect.getdoc(module), f"{module.__name__} lacks a docstring"
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert inspect.getdoc(value), f"{module.__name__}.{name} lacks a docstring"
            if inspect.isclass(value):
                for member, attribute in vars(value).items():
                    if inspect.isfunction(attribute) and not member.startswith("_"):
                        assert inspect.getdoc(attribute), f"{name}.{member} lacks a docstring"


def test_the_error_family_has_one_root() -> None:
    """Every orderflow error derives from OrderflowError; input errors are ValueErrors."""
    for name in orderflow.__all__:
        value = getattr(orderflow, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, orderflow.OrderflowError), name
    assert issubclass(orderflow.InvalidInput, ValueError)
    assert issubclass(orderflow.DocumentError, orderflow.InvalidInput)


def test_the_version_matches_the_package_metadata() -> None:
    """orderflow.__version__ is the installed distribution's version."""
    from importlib.metadata import version

    assert orderflow.__version__ == version("orderflow-commerce")
