"""Eager asyncio.gather and the eager task factory (Cinder's eager coroutines).

asyncio.tasks installs these at import (patches/0003); see
CinderDoc/eager_coroutines.rst.  gather() starts each coroutine argument
at once, as an eager Task (3.12's eager_start): it runs up to its first
suspension in its own Task and context before gather() returns.  Those
that finish there were never scheduled and are counted at once, without
a trip through the event loop; the others carry on as ordinary Tasks.
"""

import types

import cinder
from asyncio import base_events, events, exceptions, futures, tasks

_CoroutineType = types.CoroutineType


enabled = cinder.eager_coroutines_enabled


def make_gather(lazy_gather, gathering_future):
    """gather() that starts coroutines eagerly, else defers to lazy_gather.

    Each coroutine argument becomes a Task created with eager_start=True, as
    loop.create_task() would make it (gather is eager only on a running
    BaseEventLoop without a task factory, outside debug mode), so it takes
    its first step inside its own Task and context before gather() returns.
    The children that are done by then are counted at once instead of
    through done callbacks scheduled on the loop; the rest, and any futures
    passed in, are waited for as usual.  When every child is done, the
    result is a done future, and awaiting it does not suspend.
    """
    Task = tasks.Task
    get_running_loop = events._get_running_loop
    isfuture = futures.isfuture
    get_loop = futures._get_loop
    CancelledError = exceptions.CancelledError

    def outcome(child):
        # What the gathered list holds for a finished child.
        if child.cancelled():
            msg = child._cancel_message
            return CancelledError('' if msg is None else msg)
        exc = child.exception()
        return child.result() if exc is None else exc

    def gather(*coros_or_futures, return_exceptions=False):
        loop = get_running_loop()
        eager = (loop is not None and isinstance(loop, base_events.BaseEventLoop)
                 and loop._task_factory is None and not loop._debug
                 and enabled())
        if eager:
            eager = False
            for arg in coros_or_futures:
                if type(arg) is _CoroutineType:
                    eager = True
                elif not isfuture(arg) or get_loop(arg) is not loop:
                    eager = False
                    break
        if not eager:
            return lazy_gather(*coros_or_futures,
                               return_exceptions=return_exceptions)

        children = []
        started = {}        # argument -> its future (an argument may repeat)
        finished = []       # distinct children that finished eagerly
        for arg in coros_or_futures:
            fut = started.get(arg)
            if fut is None:
                if type(arg) is _CoroutineType:
                    fut = Task(arg, loop=loop, eager_start=True)
                    fut._log_destroy_pending = False
                    if fut.done():
                        finished.append(fut)
                else:
                    fut = arg       # waited for as lazy gather would, done or not
                started[arg] = fut
            children.append(fut)
        outer = gathering_future(children, loop=loop)

        if len(finished) == len(started):
            # Every child finished eagerly: no callbacks, no loop round trip.
            if not return_exceptions:
                for child in finished:
                    if child.cancelled():
                        outer.set_exception(child._make_cancelled_error())
                        return outer
                    exc = child.exception()
                    if exc is not None:
                        outer.set_exception(exc)
                        return outer
            outer.set_result([outcome(child) for child in children])
            return outer

        nfinished = 0
        nfuts = len(started)

        def _done_callback(fut):
            nonlocal nfinished
            nfinished += 1
            if outer.done():
                if not fut.cancelled():
                    fut.exception()     # mark it retrieved
                return
            if not return_exceptions:
                if fut.cancelled():
                    outer.set_exception(fut._make_cancelled_error())
                    return
                exc = fut.exception()
                if exc is not None:
                    outer.set_exception(exc)
                    return
            if nfinished < nfuts:
                return
            results = [outcome(child) for child in children]
            if outer._cancel_requested:
                outer.set_exception(children[-1]._make_cancelled_error())
            else:
                outer.set_result(results)

        # finished lists eager children in the order of started's values.
        finished.append(None)
        next_finished = 0
        for fut in started.values():
            if fut is finished[next_finished]:
                next_finished += 1
                _done_callback(fut)
            else:
                fut.add_done_callback(_done_callback)
        return outer

    gather.__doc__ = lazy_gather.__doc__
    gather.__wrapped__ = lazy_gather
    return gather


# --- 3.12's eager task API ---------------------------------------------------------

def create_eager_task_factory(custom_task_constructor):
    """A task factory whose tasks take their first step at creation.

    As in Python 3.12: for loop.set_task_factory().  custom_task_constructor
    is called like asyncio.Task, with eager_start=True; when the loop is
    running, the coroutine runs up to its first suspension before the
    factory returns, with the new task as the current task.  A coroutine
    that finishes there gives an already-done task that was never scheduled.
    """

    def factory(loop, coro, *, name=None, context=None):
        return custom_task_constructor(coro, loop=loop, name=name,
                                       context=context, eager_start=True)

    return factory


def py_task_eager_start(task, step):
    """eager_start for the pure-Python Task: take the first step now.

    step is the task's own (name-mangled) step method, which enters and
    leaves the task itself, so whatever task is current steps aside.
    """
    loop = task._loop
    current_tasks = tasks._current_tasks
    outer = current_tasks.pop(loop, None)
    try:
        task._context.run(step)
    finally:
        if outer is not None:
            current_tasks[loop] = outer
    if not task.done():
        tasks._register_task(task)
