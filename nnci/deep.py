"""Deep chains: resolving and evaluating follow a chain of references or amends by recursion.

A chain of 10,000 `pue = c2.pue` links needs more frames than Python's default limit and more
stack than the main thread has, so every entry point of the API and the CLI runs its work in a
thread with a large stack and a raised recursion limit. A deeper chain is diagnostic E407
(it has no one place to point at), never a RecursionError.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from nnci.diagnostics import Diagnostic, NnciError

DEEPEST = 20_000  # links of a chain nnci follows (each costs a few frames)
STACK_BYTES = 1 << 30  # virtual: only the pages a deep chain touches are ever used
FRAMES_PER_LINK = 8

T = TypeVar("T")
_local = threading.local()
# The recursion limit and the stack size of new threads are the process's, not a thread's: while any
# deep run is going, both stay raised, and the last one to end puts them back (the language server
# analyses in a worker thread while answering a request on its own).
_settings = threading.Lock()
_running = 0
_saved = (0, 0)


def _enter() -> None:
    global _running, _saved
    with _settings:
        if _running == 0:
            limit = sys.getrecursionlimit()
            _saved = (limit, threading.stack_size(STACK_BYTES))
            sys.setrecursionlimit(max(limit, DEEPEST * FRAMES_PER_LINK))
        _running += 1


def _leave() -> None:
    global _running
    with _settings:
        _running -= 1
        if _running == 0:
            limit, stack = _saved
            threading.stack_size(stack)
            sys.setrecursionlimit(limit)


def with_deep_stack(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`function(*args, **kwargs)` with room for chains of DEEPEST links; its exceptions are raised
    here. Already inside such a thread, it is simply called."""
    if getattr(_local, "deep", False):
        return _guarded(function, *args, **kwargs)
    outcome: list[object] = []

    def target() -> None:
        _local.deep = True
        try:
            outcome.append(_guarded(function, *args, **kwargs))
        except BaseException as error:  # re-raised in the calling thread
            outcome.append(error)

    _enter()
    try:
        worker = threading.Thread(target=target, name="nnci", daemon=True)
        worker.start()
        worker.join()
    finally:
        _leave()
    if not outcome:
        raise RuntimeError("nnci's worker thread ended without a result")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[return-value]


def _guarded(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        return function(*args, **kwargs)
    except RecursionError:
        raise NnciError([too_deep()]) from None


def too_deep() -> Diagnostic:
    return Diagnostic(
        "E407",
        f"the scenario nests too deeply: a chain of references, amends or imports longer than about {DEEPEST:,}",
        None,
        help="split the chain: give a value in the middle of it as a number",
    )
