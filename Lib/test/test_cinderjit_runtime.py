"""Tests of the JIT's runtime: its options, the JIT list, and the cinderjit module."""

import opcode
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import cinderjit
from test.support import os_helper


def run_python(*args, env=None, code="pass"):
    """Run the interpreter with ARGS and `-c CODE`; return (returncode, stdout, stderr)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *args, "-c", code], env=full_env,
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def total_attempts(stats):
    return stats["compiled"] + sum(stats["refused"].values())


OPTIONS = ["jit", "jit-list-file=PATH", "jit-auto=N", "jit-help", "jit-dump-hir",
           "jit-dump-hir-passes", "jit-dump-lir", "jit-dump-asm", "jit-log-file=PATH"]
ENV_VARS = ["PYTHONJIT", "PYTHONJITLISTFILE", "PYTHONJITAUTO", "PYTHONJITDUMPHIR",
            "PYTHONJITDUMPHIRPASSES", "PYTHONJITDUMPLIR", "PYTHONJITDUMPASM",
            "PYTHONJITLOGFILE"]


class OptionTests(unittest.TestCase):
    def assertFailsWith(self, args, *fragments, env=None):
        rc, out, err = run_python(*args, env=env, code="print('ran')")
        self.assertEqual(rc, 1, err)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("Cinder JIT: "), err)
        self.assertEqual(err.count("\n"), 1, err)
        for fragment in fragments:
            self.assertIn(fragment, err)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("Fatal", err)

    def test_help_lists_every_option_and_exits(self):
        rc, out, err = run_python("-X", "jit-help", code="print('ran')")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("ran", out)
        for option in OPTIONS:
            self.assertIn("-X " + option, out)
        for var in ENV_VARS:
            self.assertIn(var, out)

    def test_bad_jit_auto_values(self):
        for value in ["abc", "0", "-1", "", "1.5"]:
            with self.subTest(value=value):
                self.assertFailsWith(["-X", "jit-auto=" + value],
                                     "-X jit-auto=" + value, "positive integer")

    def test_bad_flag_value(self):
        self.assertFailsWith(["-X", "jit-dump-lir=yes"], "-X jit-dump-lir=yes",
                             "expected 0 or 1")

    def test_unknown_option(self):
        self.assertFailsWith(["-X", "jit-dump-everything"], "-X jit-dump-everything",
                             "jit-help")

    def test_environment(self):
        self.assertFailsWith([], "PYTHONJITAUTO=abc", env={"PYTHONJITAUTO": "abc"})
        rc, out, err = run_python("-E", env={"PYTHONJITAUTO": "abc"},
                                  code="import cinderjit; print(cinderjit.is_enabled())")
        self.assertEqual((rc, out, err), (0, "False\n", ""))
        rc, out, err = run_python(env={"PYTHONJIT": "1"},
                                  code="import cinderjit; print(cinderjit.is_enabled())")
        self.assertEqual((rc, out, err), (0, "True\n", ""))

    def test_missing_list_file(self):
        path = os.path.join(tempfile.gettempdir(), "no", "such", "jit.list")
        self.assertFailsWith(["-X", "jit-list-file=" + path], path, "No such file")
        self.assertFailsWith([], path, env={"PYTHONJITLISTFILE": path})

    def test_malformed_list_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
            f.write("# functions to compile\n\nmod:f\nthis is not an entry\n")
        self.addCleanup(os_helper.unlink, f.name)
        self.assertFailsWith(["-X", "jit-list-file=" + f.name], f.name + ":4:",
                             "'this is not an entry'", "module:qualname")

    def test_unwritable_log_file(self):
        path = os.path.join(tempfile.gettempdir(), "no", "such", "dir", "jit.log")
        self.assertFailsWith(["-X", "jit", "-X", "jit-log-file=" + path], path)

    def test_log_file_is_created(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "jit.log")
            rc, out, err = run_python("-X", "jit-log-file=" + path)
            self.assertEqual((rc, err), (0, ""))
            self.assertTrue(os.path.exists(path))


class OpcodeTests(unittest.TestCase):
    def test_resume_jit_is_a_specialisation_of_resume(self):
        self.assertIn("RESUME_JIT", opcode._specializations["RESUME"])
        self.assertNotIn("RESUME_JIT", opcode.opmap)


def f(x):
    return x + 1


def gen():
    yield 1


async def agen():
    yield 1


class ApiTests(unittest.TestCase):
    def test_types(self):
        self.assertIsInstance(cinderjit.is_enabled(), bool)
        self.assertIsInstance(cinderjit.is_jit_compiled(f), bool)
        names = cinderjit.get_compiled_functions()
        self.assertIsInstance(names, list)
        for name in names:
            self.assertRegex(name, r"^[^:]*:[^:]+$")
        for bad in [len, 1, None, f.__code__]:
            with self.assertRaises(TypeError):
                cinderjit.force_compile(bad)
            with self.assertRaises(TypeError):
                cinderjit.is_jit_compiled(bad)

    def test_stats(self):
        stats = cinderjit.jit_stats()
        self.assertEqual(set(stats),
                         {"compiled", "refused", "deopts", "compile_time", "code_size"})
        self.assertIsInstance(stats["compiled"], int)
        self.assertIsInstance(stats["compile_time"], float)
        self.assertIsInstance(stats["code_size"], int)
        for reason, count in stats["refused"].items():
            self.assertIsInstance(reason, str)
            self.assertGreater(count, 0)
        self.assertIn("guard failure", stats["deopts"])
        self.assertIn("exception", stats["deopts"])

    def test_deopts_are_counted_by_reason(self):
        def attr(o):
            return o.a

        class A:
            pass
        a = A()
        a.a = 1
        self.assertTrue(cinderjit.force_compile(attr))
        before = cinderjit.jit_stats()["deopts"]
        attr(a)
        # Not assertRaises: under -X jit its compiled __exit__ raises and catches too
        # (traceback.clear_frames on this still-running frame).
        try:
            attr(1)
        except AttributeError:
            pass
        else:
            self.fail("no AttributeError")
        after = cinderjit.jit_stats()["deopts"]
        # Under -X jit this method runs compiled too, and the exception leaves it for
        # the interpreter's handler as well: one more exit.
        here = 1 if cinderjit.is_jit_compiled(ApiTests.test_deopts_are_counted_by_reason) else 0
        self.assertEqual(after["exception"], before["exception"] + 1 + here)
        self.assertEqual(after["guard failure"], before["guard failure"])

    def test_force_compile(self):
        def local(a):
            return a * 2
        compiled = cinderjit.force_compile(local)
        self.assertIsInstance(compiled, bool)
        self.assertEqual(compiled, cinderjit.is_jit_compiled(local))
        self.assertEqual(cinderjit.force_compile(local), compiled)  # not retried
        self.assertEqual(local(21), 42)
        name = "test.test_cinderjit_runtime:ApiTests.test_force_compile.<locals>.local"
        self.assertEqual(name in cinderjit.get_compiled_functions(), compiled)

    def test_force_compile_async_generator(self):
        self.assertTrue(cinderjit.force_compile(agen))
        self.assertTrue(cinderjit.is_jit_compiled(agen))

        async def collect():
            return [x async for x in agen()]
        import asyncio
        self.assertEqual(asyncio.run(collect()), [1])
        asyncio.set_event_loop_policy(None)

    def test_force_compile_generator(self):
        self.assertTrue(cinderjit.force_compile(gen))
        self.assertEqual(list(gen()), [1])


class JitOnTests(unittest.TestCase):
    """The cinderjit API in a child process running with the JIT on."""

    # Prepended to every child's code: total() counts the functions compiled or refused.
    PRELUDE = textwrap.dedent("""
        import cinderjit
        def total():
            s = cinderjit.jit_stats()
            return s['compiled'] + sum(s['refused'].values())
        """)

    def run_jit(self, code, *args, env=None):
        rc, out, err = run_python(*args, env=env,
                                  code=self.PRELUDE + textwrap.dedent(code))
        self.assertEqual(rc, 0, err)
        return out

    def test_enabled_and_disable(self):
        out = self.run_jit("""
            print(cinderjit.is_enabled())
            cinderjit.disable()
            print(cinderjit.is_enabled())
            """, "-X", "jit")
        self.assertEqual(out, "True\nFalse\n")

    def test_off_by_default(self):
        out = self.run_jit("""
            def f(): pass
            f()
            print(cinderjit.is_enabled(), total())
            """)
        self.assertEqual(out, "False 0\n")

    def test_first_call_compiles_or_refuses(self):
        out = self.run_jit("""
            def f(x): return x + 1
            async def g(): yield 1
            before = total()
            f(1)
            after_f = total()
            f(2)
            try:
                g().asend(None).send(None)
            except StopIteration:
                pass
            s = cinderjit.jit_stats()
            print(after_f - before, total() - after_f,
                  cinderjit.is_jit_compiled(f) == ('__main__:f' in
                                                   cinderjit.get_compiled_functions()),
                  cinderjit.is_jit_compiled(g),
                  s['refused']['module or class body'] >= 1)
            """, "-X", "jit")
        self.assertEqual(out, "1 1 True True True\n")

    def test_disable_stops_compiling(self):
        out = self.run_jit("""
            cinderjit.disable()
            def f(x): return x + 1
            before = total()
            f(1)
            print(total() - before, cinderjit.is_jit_compiled(f))
            """, "-X", "jit")
        self.assertEqual(out, "0 False\n")

    def test_auto_compiles_on_the_nth_call(self):
        out = self.run_jit("""
            def f(x): return x + 1
            before = total()
            for i in range(19):
                f(i)
            middle = total()
            f(19)
            print(middle - before, total() - middle)
            """, "-X", "jit-auto=20")
        self.assertEqual(out, "0 1\n")

    def test_list_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
            f.write("# listed\n__main__:listed\n__main__:C.method  # a method\n")
        self.addCleanup(os_helper.unlink, f.name)
        code = """
            def listed(): return 1
            def unlisted(): return 2
            class C:
                def method(self): return 3
            before = cinderjit.jit_stats()['refused'].get('not in the JIT list', 0)
            listed(); unlisted(); C().method()
            s = cinderjit.jit_stats()
            print(s['refused']['not in the JIT list'] - before,
                  cinderjit.is_jit_compiled(unlisted),
                  cinderjit.force_compile(unlisted) == cinderjit.is_jit_compiled(unlisted))
            """
        self.assertEqual(self.run_jit(code, "-X", "jit-list-file=" + f.name),
                         "1 False True\n")
        self.assertEqual(self.run_jit(code, env={"PYTHONJITLISTFILE": f.name}),
                         "1 False True\n")

    def test_tracing_still_works(self):
        code = """
            import sys
            def f(x):
                y = x + 1
                return y
            f(0)
            events = []
            def tracer(frame, event, arg):
                if frame.f_code is f.__code__:
                    events.append((event, frame.f_lineno))
                return tracer
            sys.settrace(tracer)
            f(1)
            sys.settrace(None)
            print(events)
            """
        self.assertEqual(self.run_jit(code, "-X", "jit"), self.run_jit(code))


if __name__ == "__main__":
    unittest.main()
