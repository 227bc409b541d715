"""The examples run as they are shipped."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_runs_and_shows_the_three_stories(capsys: pytest.CaptureFixture[str]) -> None:
    """The quickstart completes one order, closes one and shows the refused close."""
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final state completed, 7 history entries" in out
    assert "request_refund: 221.50 CNY (order_closed)" in out
    assert "refused [close.already_shipped]" in out
    assert "replayed=True, version 2" in out
