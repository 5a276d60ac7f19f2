"""The step registry: one handler per step type, one module per family.

A handler takes the ``ScenarioRun`` and its step, does the work, and returns
the measurements that prove the verdict (or raises ``ExpectationFailed`` /
a ``HarnessError``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from harness.scenario.model import Step

Handler = Callable[[Any, Any], "dict[str, Any] | None"]
_HANDLERS: dict[type, Handler] = {}
H = TypeVar("H", bound=Handler)


def handles(step_type: type) -> Callable[[H], H]:
    """Register the decorated function as the handler of ``step_type``."""

    def register(fn: H) -> H:
        _HANDLERS[step_type] = fn
        return fn

    return register


def handler_for(step: Step) -> Handler:
    # Importing the step modules registers their handlers. All of them, even when one was
    # imported already (a test of one family must not leave the others unregistered).
    from harness.runner.steps import acd, dtmf, media, signalling  # noqa: F401

    return _HANDLERS[type(step)]
