"""Tools for testing code built on orderflow (install ``orderflow-commerce[testing]``).

* :mod:`orderflow.testing.strategies`: Hypothesis strategies for money, lines, addresses,
  actors, orders in any state and scripts of random commands.

This package needs Hypothesis; the core library never imports it.
"""

__all__: list[str] = []
