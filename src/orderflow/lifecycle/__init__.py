"""The order lifecycle: the first definition run by the engine (DOMAIN sections 1 and 2).

* :mod:`orderflow.lifecycle.definition`: the transitions, as a table (:data:`LIFECYCLE`);
* :mod:`orderflow.lifecycle.guards`: the checks they make, each with its refusal (those of
  corrections in :mod:`orderflow.lifecycle.corrections`);
* :mod:`orderflow.lifecycle.appliers`: how each builds the new order and its effects;
* :mod:`orderflow.lifecycle.refusals`: what is said in a state without a transition.

:class:`~orderflow.Lifecycle` (in :mod:`orderflow.machine`) runs it.
"""

from orderflow.engine import Definition, Guard, RefusalText, Transition
from orderflow.lifecycle.definition import LIFECYCLE, TRANSITIONS
from orderflow.lifecycle.refusals import ACTOR_REFUSALS, STATE_REFUSALS
from orderflow.settings import Settings
from orderflow.step import Step

__all__ = [
    "ACTOR_REFUSALS",
    "LIFECYCLE",
    "STATE_REFUSALS",
    "TRANSITIONS",
    "Definition",
    "Guard",
    "RefusalText",
    "Settings",
    "Step",
    "Transition",
]
