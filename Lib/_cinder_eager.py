"""Eager asyncio.gather and the eager task factory (Cinder's eager coroutines).

asyncio.tasks installs these at import (patches/0003); see
CinderDoc/eager_coroutines.rst.  gather() starts each coroutine argument
at once, in a copy of the current context, up to its first suspension.
Those that finish there need no Task and no trip through the event loop;
the others become Tasks that carry on from where they suspended.
"""

import contextvars
import types

import cinder
from asyncio import base_events, events, exceptions, futures, tasks

_CoroutineType = types.CoroutineType
_copy_context = contextvars.copy_context


def enabled():
    """Whether eager gather is on (it follows cinder.set_eager_coroutines)."""
    return cinder.eager_coroutines_enabled()


@types.coroutine
def _resume(coro, yielded):
    """Carry on `coro`, which already ran until it yielded `yielded`.

    The Task driving this sees `yielded` first, exactly as if its own first
    step had produced it, then everything `coro` yields afterwards.
    """
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        if sent is None:
            return (yield from coro)
        try:
            yielded = coro.send(sent)
        except StopIteration as stop:
            return stop.value


def _strip_own_frame(exc):
    # The exception passed through the frame that caught it; a Task would
    # not have added one, so drop that traceback entry.
    tb = exc.__traceback__
    if tb is not None:
        exc.__traceback__ = tb.tb_next
    return exc


# What starting a coroutine eagerly produced: a Future still running it,
# or one of these records.
_RESULT, _ERROR, _CANCELLED = range(3)


def _start(loop, coro):
    """Run `coro` up to its first suspension, as a Task's first step would.

    Returns (_RESULT, value), (_ERROR, exception), (_CANCELLED, exception)
    or a Task that continues the coroutine.
    """
    context = _copy_context()
    try:
        yielded = context.run(coro.send, None)
    except StopIteration as stop:
        return (_RESULT, stop.value)
    except exceptions.CancelledError as exc:
        return (_CANCELLED, _strip_own_frame(exc))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        return (_ERROR, _strip_own_frame(exc))
    if yielded is None:
        # A bare yield asks to be resumed on the next loop iteration, which
        # is when a new Task takes its first step: no wrapper needed.
        task = loop.create_task(coro, context=context)
    else:
        wrapper = _resume(coro, yielded)
        wrapper.__name__ = coro.__name__
        wrapper.__qualname__ = coro.__qualname__
        task = loop.create_task(wrapper, context=context)
    task._log_destroy_pending = False
    return task


def _eager_loop(args):
    """The running loop when gather(*args) can start coroutines eagerly."""
    if not any(type(arg) is _CoroutineType for arg in args):
        return None
    loop = events._get_running_loop()
    if (loop is None or not isinstance(loop, base_events.BaseEventLoop)
            or loop._task_factory is not None or loop._debug
            or not enabled()):
        return None
    for arg in args:
        if type(arg) is not _CoroutineType and (
                not futures.isfuture(arg) or futures._get_loop(arg) is not loop):
            return None
    return loop


def _outcome(child, return_exceptions):
    """(exception, result) of a finished child, as the gathered list wants it."""
    if type(child) is tuple:
        kind, value = child
        if kind == _RESULT:
            return None, value
        if kind == _CANCELLED:
            return exceptions.CancelledError(''), None
        return value, None
    if child.cancelled():
        return exceptions.CancelledError(
            '' if child._cancel_message is None else child._cancel_message), None
    exc = child.exception()
    if exc is not None:
        return exc, None
    return None, child.result()


def make_gather(lazy_gather, gathering_future):
    """gather() that starts coroutines eagerly, else defers to lazy_gather."""

    def gather(*coros_or_futures, return_exceptions=False):
        loop = _eager_loop(coros_or_futures) if coros_or_futures else None
        if loop is None:
            return lazy_gather(*coros_or_futures,
                               return_exceptions=return_exceptions)

        children = []       # per argument: a Future or an outcome record
        started = {}        # argument -> its child (an argument may repeat)
        pending = []        # the distinct children still running
        error = None        # the first exception of an eager child
        for arg in coros_or_futures:
            child = started.get(arg)
            if child is None:
                if type(arg) is _CoroutineType:
                    child = _start(loop, arg)
                else:
                    child = arg
                started[arg] = child
                if type(child) is tuple:
                    if error is None and child[0] != _RESULT:
                        error = child
                else:
                    pending.append(child)
            children.append(child)

        outer = gathering_future(pending, loop=loop)
        if error is not None and not return_exceptions:
            outer.set_exception(error[1])
        elif not pending:
            outer.set_result([exc if exc is not None else res for exc, res in
                              (_outcome(c, True) for c in children)])
            return outer

        nfinished = 0

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
            if nfinished == len(pending):
                results = []
                for child in children:
                    exc, res = _outcome(child, True)
                    results.append(exc if exc is not None else res)
                if outer._cancel_requested:
                    last = children[-1]
                    if type(last) is tuple:
                        outer.set_exception(exceptions.CancelledError())
                    else:
                        outer.set_exception(last._make_cancelled_error())
                else:
                    outer.set_result(results)

        for fut in pending:
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
