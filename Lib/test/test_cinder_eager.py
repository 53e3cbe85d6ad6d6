"""Eager coroutine evaluation: awaited calls, eager gather, eager tasks.

Most tests run the same code with eager evaluation on and off and check that
the results (values, exceptions, tracebacks, events) are the same, and that
the eager run really was eager (cinder._eager_coroutine_stats()).
"""

import asyncio
import contextlib
import contextvars
import gc
import inspect
import sys
import traceback
import types
import unittest
import warnings
from test.support import script_helper

import cinder


@contextlib.contextmanager
def eager(flag=True):
    previous = cinder.set_eager_coroutines(flag)
    try:
        yield
    finally:
        cinder.set_eager_coroutines(previous)


class Stats:
    """Counts of eager calls that returned, suspended and raised in a block."""

    def __enter__(self):
        self.start = cinder._eager_coroutine_stats()
        return self

    def __exit__(self, *exc):
        end = cinder._eager_coroutine_stats()
        self.returned, self.suspended, self.raised = (
            e - s for e, s in zip(end, self.start))


@types.coroutine
def suspend(value=None):
    """Yield `value` to whoever drives the coroutine; return what it sends."""
    return (yield value)


def drive(coro, send=lambda y: None):
    """Run a coroutine by hand; return (result, [yielded values])."""
    yielded = []
    value = None
    while True:
        try:
            y = coro.send(value)
        except StopIteration as stop:
            return stop.value, yielded
        yielded.append(y)
        value = send(y)


def both(test):
    """Run test(self) with eager evaluation off, then on; return both results."""
    def run(self):
        results = []
        for flag in (False, True):
            with eager(flag):
                results.append(test(self))
        return results
    return run


async def double(x):
    return x * 2


async def double_later(x):
    y = await suspend(("wait", x))
    return x * 2 + (y or 0)


class AwaitedCallTests(unittest.TestCase):

    def test_switch(self):
        self.assertTrue(cinder.eager_coroutines_enabled())
        with eager(False):
            self.assertFalse(cinder.eager_coroutines_enabled())
        self.assertTrue(cinder.eager_coroutines_enabled())

    def test_command_line_switch(self):
        code = "import cinder; print(cinder.eager_coroutines_enabled())"
        res = script_helper.assert_python_ok("-X", "no-eager-coroutines",
                                             "-c", code)
        self.assertEqual(res.out.strip(), b"False")
        res = script_helper.assert_python_ok("-c", code)
        self.assertEqual(res.out.strip(), b"True")

    def test_completes_eagerly(self):
        async def main():
            out = []
            for i in range(5):
                out.append(await double(i))
            return out
        with Stats() as s:
            self.assertEqual(drive(main()), ([0, 2, 4, 6, 8], []))
        self.assertEqual((s.returned, s.suspended, s.raised), (5, 0, 0))
        with eager(False), Stats() as s:
            self.assertEqual(drive(main()), ([0, 2, 4, 6, 8], []))
        self.assertEqual((s.returned, s.suspended, s.raised), (0, 0, 0))

    def test_no_coroutine_object(self):
        created = []

        async def leaf():
            created.append(sys._getframe().f_back.f_code.co_name)
            return 1

        async def main():
            total = 0
            for _ in range(10):
                total += await leaf()
            return total
        before = sum(isinstance(o, types.CoroutineType)
                     for o in gc.get_objects())
        self.assertEqual(drive(main()), (10, []))
        self.assertEqual(created, ["main"] * 10)
        self.assertLessEqual(
            sum(isinstance(o, types.CoroutineType) for o in gc.get_objects()),
            before)

    def test_suspends_at_first_await(self):
        async def main():
            return await double_later(5)
        with Stats() as s:
            self.assertEqual(drive(main(), lambda y: 1), (11, [("wait", 5)]))
        self.assertEqual((s.returned, s.suspended), (0, 1))

    def test_suspends_later(self):
        async def mid(x):
            a = await double(x)
            b = await double(a)
            c = await double_later(b)
            return a + b + c

        async def main():
            return [await mid(i) for i in range(3)]
        results = both(lambda self: drive(main(), lambda y: y[1]))(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1], ([0, 18, 36], [("wait", 0), ("wait", 4),
                                                   ("wait", 8)]))
        with Stats() as s:
            drive(main())
        # double_later and mid, 3 times each, and once the comprehension.
        self.assertEqual(s.suspended, 7)

    def test_suspended_coroutine_is_ordinary(self):
        async def inner():
            await suspend("x")
            return "inner done"

        async def outer():
            return await inner()

        for flag in (False, True):
            with eager(flag):
                coro = outer()
                self.assertEqual(coro.send(None), "x")
                awaited = coro.cr_await
                self.assertIsInstance(awaited, types.CoroutineType)
                self.assertEqual(awaited.__qualname__, inner.__qualname__)
                self.assertEqual(inspect.getcoroutinestate(awaited),
                                 inspect.CORO_SUSPENDED)
                self.assertEqual(awaited.cr_frame.f_code, inner.__code__)
                self.assertIsNone(awaited.cr_frame.f_back)
                with self.assertRaises(StopIteration) as cm:
                    coro.send(None)
                self.assertEqual(cm.exception.value, "inner done")

    def test_methods(self):
        class Base:
            async def m(self, x):
                return ("base", x)

            @staticmethod
            async def s(x):
                return ("static", x)

            @classmethod
            async def c(cls, x):
                return (cls.__name__, x)

        class Derived(Base):
            async def m(self, x, y=1):
                return (await super().m(x), y)

        async def main():
            d = Derived()
            return [await d.m(1), await d.m(2, y=3), await Derived.s(4),
                    await d.c(5), await Base.m(d, 6)]
        with Stats() as s:
            results = both(lambda self: drive(main()))(self)
        self.assertEqual(results[0], results[1])
        # Derived.m awaits Base.m: 7 calls per run, counted in the eager run.
        self.assertEqual(s.returned, 7)

    def test_keyword_and_default_arguments(self):
        async def f(a, b=2, *args, c, d=4, **kw):
            return (a, b, args, c, d, kw)

        async def main():
            return [await f(1, c=3), await f(1, 2, 3, c=5, e=6),
                    await f(*[1, 2], **{"c": 9})]
        results = both(lambda self: drive(main()))(self)
        self.assertEqual(results[0], results[1])

    def test_generator_based_awaitables(self):
        @types.coroutine
        def gen_based(x):
            y = yield ("gen", x)
            return (x, y)

        async def uses_gen(x):
            return await gen_based(x)

        async def main():
            return [await uses_gen(1), await uses_gen(2)]
        results = both(lambda self: drive(main(), lambda y: y[1] * 10))(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1], ([(1, 10), (2, 20)],
                                      [("gen", 1), ("gen", 2)]))

    def test_async_generators_and_context_managers(self):
        class ACM:
            async def __aenter__(self):
                return await double(1)

            async def __aexit__(self, *exc):
                await double_later(2)
                return False

        async def agen():
            for i in range(3):
                yield await double(i)
                await double_later(i)

        async def main():
            out = []
            async with ACM() as v:
                out.append(v)
                async for x in agen():
                    out.append(await double(x))
            return out
        results = both(lambda self: drive(main()))(self)
        self.assertEqual(results[0], results[1])

    def traceback_of(self, coro, send=lambda y: None):
        try:
            drive(coro, send)
        except BaseException as exc:
            return (type(exc), str(exc),
                    traceback.format_exception(exc),
                    [(f.name, f.lineno) for f in
                     traceback.extract_tb(exc.__traceback__)])
        self.fail("no exception")

    def test_raises_before_suspending(self):
        async def fails(x):
            if x:
                raise ValueError(f"bad {x}")
            return x

        async def main():
            await fails(0)
            await fails(1)
        results = both(lambda self: self.traceback_of(main()))(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1][1], "bad 1")
        self.assertEqual([n for n, _ in results[1][3]][-2:], ["main", "fails"])

    def test_raises_after_suspending(self):
        async def fails(x):
            await suspend()
            raise KeyError(x)

        async def main():
            return await fails(3)
        results = both(lambda self: self.traceback_of(main()))(self)
        self.assertEqual(results[0], results[1])

    def test_exception_handled_by_awaiter(self):
        async def fails():
            raise ValueError("x")

        async def main():
            try:
                await fails()
            except ValueError as e:
                caught = e
            try:
                await fails()
            finally:
                pass
        results = both(lambda self: self.traceback_of(main()))(self)
        self.assertEqual(results[0], results[1])

    def test_stop_iteration_becomes_runtime_error(self):
        async def stops():
            raise StopIteration(1)

        async def main():
            await stops()
        results = both(lambda self: self.traceback_of(main()))(self)
        self.assertEqual(results[0], results[1])
        self.assertIs(results[1][0], RuntimeError)
        self.assertEqual(results[1][1], "coroutine raised StopIteration")

    def test_recursion(self):
        async def depth(n):
            if n == 0:
                return 0
            return 1 + await depth(n - 1)

        async def depth_suspending(n):
            if n == 0:
                await suspend()
                return 0
            return 1 + await depth_suspending(n - 1)
        self.assertEqual(drive(depth(200)), (200, []))
        self.assertEqual(drive(depth_suspending(200)), (200, [None]))
        for flag in (False, True):
            with eager(flag):
                with self.assertRaises(RecursionError):
                    drive(depth(sys.getrecursionlimit() + 10))

    def test_exception_state_when_suspending_in_handler(self):
        async def handler():
            try:
                raise KeyError("inner")
            except KeyError:
                await suspend("in handler")
                return repr(sys.exc_info()[1])

        async def main():
            before = sys.exc_info()
            r = await handler()
            return before, r, sys.exc_info()
        results = both(lambda self: drive(main()))(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1][0][1], "KeyError('inner')")

    def test_awaiting_inside_except_block(self):
        async def sees():
            return repr(sys.exc_info()[1])

        async def sees_later():
            await suspend()
            return repr(sys.exc_info()[1])

        async def main():
            try:
                raise ValueError("outer")
            except ValueError:
                return [await sees(), await sees_later(), await sees()]
        results = both(lambda self: drive(main()))(self)
        self.assertEqual(results[0], results[1])

    def test_frame_objects_survive_suspension(self):
        frames = []

        async def keeps_frame(x):
            frames.append(sys._getframe())
            local = x + 1
            await suspend()
            return local

        async def main():
            return await keeps_frame(1)
        coro = main()
        coro.send(None)
        f = frames[-1]
        self.assertEqual(f.f_locals["local"], 2)
        self.assertEqual(f.f_code.co_name, "keeps_frame")
        self.assertIs(coro.cr_await.cr_frame, f)
        with self.assertRaises(StopIteration):
            coro.send(None)
        self.assertEqual(f.f_locals["local"], 2)
        self.assertIsNone(f.f_back)

    def test_closures_and_cells(self):
        def make(k):
            async def closure(x):
                def inner():
                    return x + k        # x is a cell, k a free variable
                if x % 2:
                    await suspend(x)
                return inner()
            return closure

        async def main():
            f = make(10)
            return [await f(i) for i in range(4)]
        results = both(lambda self: drive(main()))(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1], ([10, 11, 12, 13], [1, 3]))

    def test_callee_frame_sees_awaiter(self):
        async def who():
            return sys._getframe(1).f_code.co_name

        async def main():
            return await who()
        self.assertEqual(drive(main()), ("main", []))

    def test_tracing_falls_back(self):
        events = []

        def tracer(frame, event, arg):
            if frame.f_code.co_name in ("traced", "main"):
                events.append((frame.f_code.co_name, event))
            return tracer

        async def traced():
            await suspend()
            return 1

        async def main():
            return await traced() + await double(1)

        def run(self):
            events.clear()
            with Stats() as s:
                sys.settrace(tracer)
                try:
                    drive(main())
                finally:
                    sys.settrace(None)
            return list(events), s.returned + s.suspended
        results = both(run)(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1][1], 0)

    def test_profiling_falls_back(self):
        events = []

        def profiler(frame, event, arg):
            events.append((frame.f_code.co_name, event))

        async def main():
            return await double_later(1)

        def run(self):
            events.clear()
            sys.setprofile(profiler)
            try:
                drive(main())
            finally:
                sys.setprofile(None)
            return list(events)
        results = both(run)(self)
        self.assertEqual(results[0], results[1])

    def test_origin_tracking_falls_back(self):
        async def main():
            await double_later(1)
        old = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(5)
        try:
            coro = main()
            with Stats() as s:
                coro.send(None)
            self.assertEqual(s.suspended, 0)
            origin = coro.cr_await.cr_origin
            self.assertEqual(origin[0][2], "main")
            coro.close()
        finally:
            sys.set_coroutine_origin_tracking_depth(old)

    def test_never_awaited_warning_still_issued(self):
        async def main():
            double(1)       # never awaited
            return await double(2)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            self.assertEqual(drive(main()), (4, []))
            gc.collect()
        self.assertEqual(len(w), 1)
        self.assertIn("never awaited", str(w[0].message))

    def test_close_and_throw_into_materialized_chain(self):
        log = []

        async def leaf():
            try:
                await suspend("leaf")
            finally:
                log.append("leaf finally")

        async def mid():
            try:
                await leaf()
            except ZeroDivisionError:
                log.append("mid caught")
                return "recovered"

        async def main():
            return await mid()

        for flag in (False, True):
            with eager(flag):
                log.clear()
                coro = main()
                coro.send(None)
                coro.close()
                self.assertEqual(log, ["leaf finally"])
                log.clear()
                coro = main()
                coro.send(None)
                with self.assertRaises(StopIteration) as cm:
                    coro.throw(ZeroDivisionError)
                self.assertEqual(cm.exception.value, "recovered")
                self.assertEqual(log, ["leaf finally", "mid caught"])

    def test_contextvars(self):
        var = contextvars.ContextVar("var", default=0)

        async def setter(v):
            var.set(v)
            return var.get()

        async def main():
            a = await setter(1)
            return a, var.get()
        results = both(lambda self: contextvars.copy_context().run(
            drive, main()))(self)
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[1], ((1, 1), []))

    def test_c_api_call_awaited(self):
        self.assertEqual(cinder._call_awaited(double, 4), ("done", 8, None))
        status, coro, yielded = cinder._call_awaited(double_later, x=1)
        self.assertEqual((status, yielded), ("suspended", ("wait", 1)))
        with self.assertRaises(StopIteration) as cm:
            coro.send(5)
        self.assertEqual(cm.exception.value, 7)
        status, aw, _ = cinder._call_awaited(lambda: double(3))
        self.assertEqual(status, "lazy")
        self.assertEqual(drive(aw), (6, []))
        with eager(False):
            status, aw, _ = cinder._call_awaited(double, 1)
            self.assertEqual(status, "lazy")
            self.assertEqual(drive(aw), (2, []))
        with self.assertRaises(ZeroDivisionError):
            cinder._call_awaited(lambda: 1 / 0)


class AsyncioAwaitTests(unittest.TestCase):

    def test_cancellation(self):
        log = []

        async def leaf():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append("leaf cancelled")
                raise

        async def mid():
            await double(1)
            await leaf()

        async def main():
            task = asyncio.create_task(mid())
            await asyncio.sleep(0)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            return task.cancelled()

        for flag in (False, True):
            with eager(flag):
                log.clear()
                self.assertTrue(asyncio.run(main()))
                self.assertEqual(log, ["leaf cancelled"])

    def test_debug_mode(self):
        async def main():
            return await double_later(0) if False else await double(3)
        with Stats() as s:
            self.assertEqual(asyncio.run(main(), debug=True), 6)
        self.assertEqual(s.returned, 0)


class EagerGatherTests(unittest.TestCase):

    def test_results_and_order(self):
        log = []

        async def child(i, suspends):
            log.append(("start", i))
            if suspends:
                await asyncio.sleep(0)
            log.append(("end", i))
            return i

        async def main():
            fut = asyncio.gather(*[child(i, i % 2) for i in range(4)])
            log.append("gather returned")
            return await fut

        results = []
        for flag in (False, True):
            with eager(flag):
                log.clear()
                results.append((asyncio.run(main()), list(log)))
        self.assertEqual(results[0][0], [0, 1, 2, 3])
        self.assertEqual(results[1][0], [0, 1, 2, 3])
        # Eagerly, every child starts before gather() returns.
        self.assertEqual(results[1][1][:7], [
            ("start", 0), ("end", 0), ("start", 1), ("start", 2), ("end", 2),
            ("start", 3), "gather returned"])
        self.assertEqual(results[0][1][0], "gather returned")

    def test_children_that_finish_are_never_scheduled(self):
        async def main():
            loop = asyncio.get_running_loop()
            scheduled = []
            orig = loop.call_soon

            def counting(callback, *args, **kw):
                scheduled.append(callback)
                return orig(callback, *args, **kw)
            loop.call_soon = counting
            try:
                fut = asyncio.gather(double(1), double(2))
                state = (fut.done(), len(asyncio.all_tasks()), len(scheduled))
                return state, await fut
            finally:
                del loop.call_soon

        with eager(False):
            self.assertEqual(asyncio.run(main()), ((False, 3, 2), [2, 4]))
        self.assertEqual(asyncio.run(main()), ((True, 1, 0), [2, 4]))

    def test_children_run_in_their_own_tasks(self):
        async def child():
            return asyncio.current_task()

        async def main():
            me = asyncio.current_task()
            a, b = await asyncio.gather(child(), child())
            return a is not me and b is not me and a is not b and a.done()

        for flag in (False, True):
            with eager(flag):
                self.assertTrue(asyncio.run(main()))

    def test_exceptions(self):
        async def fails(x, suspends=False):
            if suspends:
                await asyncio.sleep(0)
            raise ValueError(x)

        async def ok(x):
            return x

        async def main(return_exceptions):
            return await asyncio.gather(ok(1), fails(2), fails(3, True),
                                        return_exceptions=return_exceptions)

        for flag in (False, True):
            with eager(flag):
                res = asyncio.run(main(True))
                self.assertEqual(res[0], 1)
                self.assertEqual([type(r) for r in res[1:]], [ValueError] * 2)
                self.assertEqual([r.args for r in res[1:]], [(2,), (3,)])
                try:
                    asyncio.run(main(False))
                except ValueError as e:
                    exc = e
                self.assertEqual(exc.args, (2,))
                frames = [f.name for f in
                          traceback.extract_tb(exc.__traceback__)]
                self.assertEqual(frames[-1], "fails")
                self.assertNotIn("_start", frames)

    def test_exception_objects_as_results(self):
        async def returns_exception():
            return ValueError("a result, not an error")

        async def main():
            return await asyncio.gather(returns_exception(), double(1))
        for flag in (False, True):
            with eager(flag):
                res = asyncio.run(main())
                self.assertIsInstance(res[0], ValueError)
                self.assertEqual(res[1], 2)

    def test_child_cancelled_error(self):
        async def cancels():
            raise asyncio.CancelledError("by child")

        async def main(return_exceptions):
            return await asyncio.gather(double(1), cancels(),
                                        return_exceptions=return_exceptions)

        for flag in (False, True):
            with eager(flag):
                res = asyncio.run(main(True))
                self.assertEqual(res[0], 2)
                self.assertIsInstance(res[1], asyncio.CancelledError)
                with self.assertRaises(asyncio.CancelledError):
                    asyncio.run(main(False))

    def test_cancel_gather(self):
        log = []

        async def slow():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append("cancelled")
                raise

        async def main():
            fut = asyncio.gather(double(1), slow(), slow())
            await asyncio.sleep(0)
            fut.cancel()
            try:
                await fut
            except asyncio.CancelledError:
                return "outer cancelled"

        for flag in (False, True):
            with eager(flag):
                log.clear()
                self.assertEqual(asyncio.run(main()), "outer cancelled")
                self.assertEqual(log, ["cancelled", "cancelled"])

    def test_duplicates_and_futures(self):
        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            loop.call_soon(fut.set_result, "fut")
            c = double(5)
            return await asyncio.gather(c, fut, c, double_later_loop())

        async def double_later_loop():
            await asyncio.sleep(0)
            return "later"

        for flag in (False, True):
            with eager(flag):
                self.assertEqual(asyncio.run(main()),
                                 [10, "fut", 10, "later"])

    def test_contextvars_isolated(self):
        var = contextvars.ContextVar("var", default="parent")

        async def child(v, suspends):
            var.set(v)
            if suspends:
                await asyncio.sleep(0)
            return var.get()

        async def main():
            res = await asyncio.gather(child("a", False), child("b", True))
            return res, var.get()

        for flag in (False, True):
            with eager(flag):
                self.assertEqual(asyncio.run(main()), (["a", "b"], "parent"))

    def test_waiting_on_future_after_eager_start(self):
        async def waits(fut):
            return await fut

        async def main():
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            loop.call_later(0.01, fut.set_result, 42)
            g = asyncio.gather(waits(fut), double(1))
            return await g

        for flag in (False, True):
            with eager(flag):
                self.assertEqual(asyncio.run(main()), [42, 2])

    def test_nested_gathers(self):
        async def node(depth, i):
            if depth == 0:
                if i % 3 == 0:
                    await asyncio.sleep(0)
                return i
            vals = await asyncio.gather(*[node(depth - 1, i * 3 + k)
                                          for k in range(3)])
            return sum(vals)

        results = []
        for flag in (False, True):
            with eager(flag):
                results.append(asyncio.run(node(4, 0)))
        self.assertEqual(results[0], results[1])

    def test_reused_coroutine(self):
        async def main():
            c = double(1)
            await c
            return await asyncio.gather(c, return_exceptions=True)
        for flag in (False, True):
            with eager(flag):
                res = asyncio.run(main())
                self.assertIsInstance(res[0], RuntimeError)

    def test_timeout_and_task_group_in_children(self):
        async def child(i):
            async with asyncio.timeout(10):
                async with asyncio.TaskGroup() as tg:
                    t = tg.create_task(double(i))
                return t.result()

        async def slow_child():
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.sleep(10)
            except TimeoutError:
                return "timed out"

        async def main():
            return await asyncio.gather(child(1), child(2), slow_child())
        for flag in (False, True):
            with eager(flag):
                self.assertEqual(asyncio.run(main()), [2, 4, "timed out"])

    def test_empty_and_not_running(self):
        async def main():
            return await asyncio.gather()
        self.assertEqual(asyncio.run(main()), [])
        loop = asyncio.new_event_loop()
        try:
            fut = asyncio.gather(double(2), loop=None) if False else None
            coro = double(3)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                asyncio.set_event_loop(loop)
                fut = asyncio.gather(coro)
            self.assertEqual(loop.run_until_complete(fut), [6])
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            asyncio.set_event_loop_policy(None)


class EagerTaskFactoryTests(unittest.TestCase):

    def run_with_factory(self, main, task_class=None):
        async def wrapper():
            loop = asyncio.get_running_loop()
            if task_class is None:
                loop.set_task_factory(asyncio.eager_task_factory)
            else:
                loop.set_task_factory(
                    asyncio.create_eager_task_factory(task_class))
            return await main()
        return asyncio.run(wrapper())

    def check_factory(self, task_class):
        seen = []

        async def child(suspends):
            seen.append(asyncio.current_task())
            if suspends:
                await asyncio.sleep(0)
            return "done"

        async def main():
            t1 = asyncio.create_task(child(False))
            done_at_once = t1.done()
            t2 = asyncio.create_task(child(True))
            pending_at_once = not t2.done()
            self.assertIn(t2, asyncio.all_tasks())
            return (done_at_once, pending_at_once, await t1, await t2,
                    seen == [t1, t2],
                    isinstance(t1, task_class or asyncio.Task))
        self.assertEqual(self.run_with_factory(main, task_class),
                         (True, True, "done", "done", True, True))

    def test_eager_task_factory(self):
        self.check_factory(None)

    def test_c_task(self):
        self.check_factory(asyncio.tasks._CTask)

    def test_py_task(self):
        self.check_factory(asyncio.tasks._PyTask)

    def test_eager_start_parameter(self):
        async def child():
            return asyncio.current_task()

        async def main():
            t = asyncio.Task(child(), eager_start=True)
            self.assertTrue(t.done())
            self.assertIs(t.result(), t)
            self.assertIsNot(asyncio.current_task(), t)
            return True
        self.assertTrue(asyncio.run(main()))

    def test_not_running_loop_is_lazy(self):
        loop = asyncio.new_event_loop()
        try:
            t = asyncio.Task(double(2), loop=loop, eager_start=True)
            self.assertFalse(t.done())
            self.assertEqual(loop.run_until_complete(t), 4)
        finally:
            loop.close()

    def test_task_group(self):
        async def child(i):
            if i % 2:
                await asyncio.sleep(0)
            return i

        async def main():
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(child(i)) for i in range(4)]
            return [t.result() for t in tasks]
        self.assertEqual(self.run_with_factory(main), [0, 1, 2, 3])

    def test_exceptions_and_gather(self):
        async def fails():
            raise ValueError("x")

        async def main():
            res = await asyncio.gather(fails(), double(1),
                                       return_exceptions=True)
            return [type(r) for r in res]
        self.assertEqual(self.run_with_factory(main), [ValueError, int])


def tearDownModule():
    asyncio.set_event_loop_policy(None)


if __name__ == "__main__":
    unittest.main()
