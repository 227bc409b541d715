"""Tools for testing code built on orderflow (install ``orderflow-commerce[testing]``).

* :mod:`orderflow.testing.strategies`: Hypothesis strategies for money, lines, addresses,
  actors, orders in any state and scripts of random lifecycle commands.
* :mod:`orderflow.testing.case_strategies`: Hypothesis strategies for the commands on the
  cases inside an order, drawn against a given order: after-sales requests, decisions,
  returns, money-only refunds and refund answers
  (:mod:`~orderflow.testing.aftersales_strategies`); tracking events and exception cases
  opened, acknowledged, escalated, resolved, compensated and closed
  (:mod:`~orderflow.testing.exception_strategies`); due timers, and who sends each.
* :mod:`orderflow.testing.contracts`: ``OrderStoreContract``, the conformance tests every
  order store must pass; :mod:`orderflow.testing.differential`: ``differential_test``, a
  store beside the in-memory reference under random commands.
* :mod:`orderflow.testing.fakes`: recording and failing notifiers and effect handlers, and a
  context port answering from fixed tables.

This package needs Hypothesis; the core library never imports it.
"""

__all__: list[str] = []
