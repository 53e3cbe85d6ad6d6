"""Behaviour tests of the JIT: every function here runs compiled and interpreted, and the
two must agree on results, exceptions, tracebacks and side effects."""

import collections
import copy
import dataclasses
import gc
import inspect
import os
import signal
import subprocess
import sys
import threading
import traceback
import tracemalloc
import types
import unittest
import _thread
import asyncio

try:
    import cinderjit
except ImportError:
    cinderjit = None
try:
    import ctypes
except ImportError:
    ctypes = None
try:
    import _testcapi
except ImportError:
    _testcapi = None
from test.support import script_helper


def interpreted_twin(func):
    """The same function on a distinct code object, which the JIT has not compiled."""
    code = func.__code__.replace(co_name=func.__code__.co_name)
    twin = types.FunctionType(code, func.__globals__, func.__name__,
                              func.__defaults__, func.__closure__)
    twin.__kwdefaults__ = func.__kwdefaults__
    return twin


def outcome(func, *args, **kwargs):
    """What calling func does: ('ok', result) or ('raise', type, str, traceback lines)."""
    try:
        return ("ok", func(*args, **kwargs))
    except BaseException as e:
        frames = [(f.name, f.lineno) for f in traceback.extract_tb(e.__traceback__)][1:]
        return ("raise", type(e), str(e), frames)


def fresh(args):
    """A deep copy of args where one can be made (locks and the like are shared)."""
    try:
        return copy.deepcopy(args)
    except TypeError:
        return args


def deopts_unless_jit_everywhere():
    """All deopts so far, when only the functions a test compiles run compiled; None under
    -X jit, where any code the test runs may deopt."""
    if cinderjit.is_enabled():
        return None
    return sum(cinderjit.jit_stats()["deopts"].values())


@unittest.skipIf(cinderjit is None, "the JIT is not built")
class JitTestCase(unittest.TestCase):
    def compile(self, func):
        self.assertTrue(cinderjit.force_compile(func),
                        f"{func.__qualname__} was not compiled: "
                        f"{cinderjit.jit_stats().get('refused', {})}")
        self.assertTrue(cinderjit.is_jit_compiled(func))
        return func

    def assert_same(self, func, *args):
        """Run func compiled and its interpreted twin, each on its own copy of the
        arguments (the functions may mutate them), and compare what they do."""
        twin = interpreted_twin(func)
        self.compile(func)
        expected = outcome(twin, *fresh(args))
        actual = outcome(func, *fresh(args))
        self.assertEqual(actual, expected)
        return actual


# -- The functions under test (module level, so the JIT sees ordinary globals) -----------

def add(a, b):
    return a + b


def arith(a, b):
    x = a * b - a // (b or 1) + a % (b or 1)
    y = -x + (+a) ** 2
    return (x, y, ~a if isinstance(a, int) else None, a / (b or 1), a << 2 if
            isinstance(a, int) else 0)


def compare_all(a, b):
    return [a < b, a <= b, a == b, a != b, a > b, a >= b, a is b, a is not b]


def branch_on_compare(a, b):
    # Each comparison feeds a jump: CompareBool, inline for one-digit exact ints.
    taken = []
    if a < b:
        taken.append("<")
    if a <= b:
        taken.append("<=")
    if a == b:
        taken.append("==")
    if a != b:
        taken.append("!=")
    if a > b:
        taken.append(">")
    if a >= b:
        taken.append(">=")
    return taken


def int_ops(a, b):
    # BinaryOp, inline for one-digit exact ints; the constants take the immediate path.
    x = a
    x += b
    y = a
    y -= b
    z = a
    z *= b
    return [a + b, a - b, a * b, a & b, a | b, a ^ b, x, y, z, a + 1, 1 - a, a * -3,
            a - 5, 255 - b]


def float_ops(a, b):
    # BinaryOp, inline for exact floats; constants (float or int) as immediates.
    x = a
    x += b
    x *= b
    return [a + b, a - b, a * b, x, a + 1, 1.5 - a, a * 2, a * -0.5, a / 4, 2.0 / (a or 1)]


def true_div(a, b):
    return a / b


def small_int_identity(a, b):
    # A result in the small-int range is the cached singleton, as in the interpreter.
    return [r is int(str(r)) for r in (a + b, a - b, a * b)]


def subscripts(seq, i):
    # BinarySubscr, inline for exact lists and tuples indexed by one-digit ints.
    return seq[i], seq[0], seq[2]


def c_callback(x, y=2, *, z=3):
    if x is None:
        raise ValueError("no x")
    return x * y + z


class Built:
    def __init__(self, a, b=1):
        self.total = a + b


def called_from_c(n):
    # Calls that C code makes (map, sorted's key, partial with keywords, type() calling
    # __init__), many times each.
    import functools
    values = list(range(n))
    return (list(map(c_callback, values)), sorted(values, key=c_callback),
            list(map(functools.partial(c_callback, z=7), values)),
            [Built(v).total for v in values], [Built(v, b=v).total for v in values],
            list(map(c_callback, values, values)))


def raises_from_c():
    return list(map(c_callback, [1, None]))


class BadBool:
    def __init__(self, outcome):
        self.outcome = outcome

    def __bool__(self):
        if isinstance(self.outcome, type):
            raise self.outcome("no truth")
        return self.outcome

    def __deepcopy__(self, memo):
        return self


def truthiness(x):
    if x:
        r = "yes"
    else:
        r = "no"
    return r, not x, x and 1, x or 2


def sum_range(n):
    total = 0
    for i in range(n):
        total += i
    return total


def nested_loops(n):
    out = []
    for i in range(n):
        for j in range(i):
            if (i + j) % 3 == 0:
                continue
            if j > 5:
                break
            out.append((i, j))
    return out


def while_loop(n):
    i = 0
    acc = 1
    while i < n:
        acc = acc * 3 % 1000003
        i += 1
    return acc


def containers(a, b):
    t = (a, b, a)
    l = [b, a]
    d = {"a": a, "b": b}
    s = {a, b}
    l.append(t)
    x, y = l[0], d["b"]
    d["c"] = x
    return t, l, d, sorted(s), x, y, a in l, b not in s


def unpack(seq):
    a, b, c = seq
    return c, b, a


def unpack_starred(seq):
    first, *middle, last = seq
    *head, tail = middle or [None]
    return first, middle, last, head, tail


def unpack_starred_wide(seq):
    a, b, *rest, c, d = seq
    return a, b, rest, c, d


def delete_names(define, twice):
    global DELETABLE
    cell = 1

    def get():
        return cell
    if define:
        DELETABLE = 1
    del DELETABLE
    before = get()
    del cell
    if twice:
        del cell
    try:
        get()
    except NameError as e:
        return before, str(e)


def make_class(n):
    # A class statement: LOAD_BUILD_CLASS, then the class body's function called
    class Local(list):
        size = n

        def total(self):
            return sum(self) + self.size
    return Local


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class NoMatchArgs:
    pass


class ListMatchArgs:
    __match_args__ = ["x"]


class IntMatchArgs:
    __match_args__ = (1,)
    x = 1


NOT_A_TYPE = 3


def match_value(v):
    match v:
        case [a, b]:
            return ("seq2", a, b)
        case [a, *rest]:
            return ("seq+", a, rest)
        case {"k": val, **rest}:
            return ("map", val, rest)
        case {"a": 1, "b": b}:
            return ("ab", b)
        case Point(0, y):
            return ("P0", y)
        case Point(x=x, y=2):
            return ("Py2", x)
        case int(n) | float(n):
            return ("num", n)
        case str() as s:
            return ("str", s)
        case NoMatchArgs():
            return "no match args"
        case _:
            return "other"


def match_badly(v, which):
    match which:
        case 0:
            match v:
                case Point(1, 2, 3):
                    return 1
        case 1:
            match v:
                case NoMatchArgs(1):
                    return 1
        case 2:
            match v:
                case ListMatchArgs(1):
                    return 1
        case 3:
            match v:
                case IntMatchArgs(1):
                    return 1
        case 4:
            match v:
                case Point(1, x=1):
                    return 1
        case 5:
            match v:
                case NOT_A_TYPE():
                    return 1
    return None


def swap_locals(a, b):
    a, b = b, a
    return a, b


def append_all(lst, items):
    for x in items:
        r = lst.append(x)
    return lst, r


def append_to_new_list(items):
    return append_all([], items)


class DoublingList(list):
    def append(self, x):
        list.append(self, x * 2)


class Appender:
    def __init__(self):
        self.got = []

    def append(self, x):
        self.got.append(x)
        return len(self.got)

    def __eq__(self, other):
        return type(other) is Appender and self.got == other.got


class BorrowsListAppend:
    append = list.append   # a list method on something that is not a list: TypeError


def _annotating_function():
    """def annotate(t0, ..., t19): a function annotated with them, as dataclasses
    generates __init__: its annotations are one BUILD_TUPLE of 40 names and values, more
    inputs than a 32-bit mask has bits (the compiler splits other large displays)."""
    params = ", ".join("t%d" % k for k in range(20))
    annotated = ", ".join("a%d: t%d" % (k, k) for k in range(20))
    ns = {}
    exec("def annotate(%s):\n"
         "    def f(%s): pass\n"
         "    return f\n" % (params, annotated), ns)
    return ns["annotate"]


annotate = _annotating_function()


def rotate(a, b, c, d):
    a, b, c, d = b, c, d, a     # a tuple built to be unpacked: never built
    return a, b, c, d


def unpack_constant():
    x, y, z = 1, "two", None    # a constant tuple unpacked: its items
    return z, y, x


def unpack_fresh_list(n):
    a, b, c = [str(n), str(n + 1), str(n + 2)]   # the list goes, its items stay
    return a + b + c


def attributes(obj):
    obj.y = obj.x + 1
    return obj.y, obj.method(2), getattr(obj, "x")


class Thing:
    def __init__(self, x):
        self.x = x

    def method(self, k):
        return self.x * k


def calls(f, *args, **kwargs):
    return f(*args), f(1, 2), max(1, 5, 3), sorted([3, 1, 2], reverse=True), \
        dict(a=1, b=2), "{}-{}".format(1, 2)


def closure_counter(start):
    count = start

    def bump(n):
        nonlocal count
        count += n
        return count
    return bump(1), bump(2), count


def make_adder(k):
    def adder(a, b):
        if a < 0:
            raise ValueError(f"negative: {a}")
        return a * k + b
    return adder


def cell_argument(a, b):
    def bump():
        nonlocal a
        a += b
        return a
    bump()
    return bump() * 100 + a


def with_defaults(a, b=10, acc=[]):
    acc.append(a)
    return a + b, len(acc)


def call_with_and_without_defaults(f, n):
    return [f(i) if i % 3 else f(i, -i) for i in range(n)]


class StrSubclass(str):
    def upper(self):
        return "overridden"


def builtin_methods(text, items, mapping, key, pop_from):
    # Methods of builtin types called on exact instances take the direct C path
    # (METH_NOARGS, METH_O, METH_FASTCALL); a subclass instance, wrong arguments or a
    # raising method take the generic one. The results must not differ.
    items.append(text.upper())
    items.append(mapping.get(key, "missing"))
    items.append(StrSubclass(text).upper())
    items.append(pop_from.pop())
    # builtin functions: METH_O, METH_FASTCALL, METH_NOARGS, a bound builtin method
    append = items.append
    append((len(text), isinstance(text, str), abs(-len(items)), getattr(text, "x", 0)))
    append(len(globals()) > 0)
    return items


def module_attributes(module, n):
    # LOAD_ATTR and LOAD_METHOD of a module's attributes: compiled code reads them
    # through the site's cache (way 0's MODULE entry) while the module's dict keeps
    # its keys; a new value is seen at once, a deleted one raises.
    out = []
    for _ in range(n):
        out.append((module.value, module.function(2)))
    return out


class LineReporter:
    @property
    def line(self):
        return sys._getframe(1).f_lineno

    def method(self):
        return sys._getframe(1).f_lineno


def lines_seen_by_lookups(obj):
    # What code run by a lookup sees of the compiled frame (LoadAttr of a property,
    # LoadMethod, a global a module __getattr__ supplies): the lookup's own line, which
    # the lookup's out-of-line path stores.
    first = obj.line
    x = 1
    second = obj.line + x
    third = obj.method()
    return first, second, third


def builtin_method_bad_arguments(text):
    return text.upper(1)


def builtin_function_bad_arguments(text):
    return len(text, text)


def call_no_args(f):
    return f()


def starred_call(f, args, kwargs):
    return f(*args, **kwargs)


def starred_positional(f, args):
    return f(*args)


def local_imports(name):
    import os.path
    from collections import OrderedDict, defaultdict
    import json as j
    return os.path.join("a", "b"), OrderedDict.__name__, defaultdict, j.__name__, \
        __import__(name).__name__


def import_missing(what):
    if what == "module":
        import no_such_module_here
    elif what == "name":
        from collections import no_such_name  # the module has a file
    else:
        from sys import no_such_name  # no file: "unknown location"


def fake_import(name, globals=None, locals=None, fromlist=(), level=0):
    return ("imported", name, fromlist, level, locals)


def imports_through_builtins():
    import os.path
    from json import dumps  # from a tuple: no __name__ either
    return os, dumps


def unpacked_displays(a, b):
    return {**a, "k": 1, **b}, {*a, *b}, [*a, *b]


class Keys:
    """A mapping by keys() and __getitem__ only, for ** arguments."""
    def __init__(self, **items):
        self.items = items

    def keys(self):
        return list(self.items)

    def __getitem__(self, key):
        return self.items[key]


class DuplicateKeys(Keys):
    def keys(self):
        return ["a", "a"]


def call_counting_down(f, n):
    total = 0
    for i in range(n):
        total += f(n - i - 3, 1)
    return total


def raise_value_error(x):
    if x > 2:
        raise ValueError(f"too big: {x}")
    return x


def try_except(x):
    try:
        r = 10 // x
    except ZeroDivisionError as e:
        r = str(e)
    finally:
        x = x + 1
    return r, x


def with_statement(lock):
    with lock:
        held = lock.locked()
    return held, lock.locked()


def unbound_local(flag):
    if flag:
        v = 1
    return v


def deleted_local(x):
    y = x
    del y
    return y


def missing_global():
    return this_name_is_not_defined  # noqa: F821


def attribute_error(obj):
    return obj.no_such_attribute


def deep(n):
    if n == 0:
        return 0
    return 1 + deep(n - 1)


def mutating_loop(items):
    out = []
    for x in items:
        out.append(x * 2)
        if len(out) == 3:
            items.append(100)
    return out


def type_change_mid_loop(values):
    total = 0
    for v in values:
        total = total + v
    return total


def is_none_checks(x):
    r = []
    if x is None:
        r.append("none")
    if x is not None:
        r.append("some")
    return r


def identity_tests(a, b):
    r = []
    if a is b:
        r.append("same")
    if a is not b:
        r.append("different")
    if not (a is b):
        r.append("not same")
    return r


def frame_introspection(a):
    b = a + 1
    f = sys._getframe()
    return f.f_code.co_name, f.f_lineno, f.f_locals["a"], f.f_locals["b"], \
        sorted(f.f_locals)


def allocation_line():
    x = len("ab")
    # Too long for the tuple free lists: a fresh allocation.
    t = (x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x)
    return tracemalloc.get_object_traceback(t)[0].lineno


def returns_after_capture(capture):
    capture()
    if capture is None:
        pass


def keyword_call(a, b=2, *, c=3):
    return (a, b, c)


def calls_keywords(x):
    return keyword_call(x), keyword_call(x, c=5), keyword_call(b=7, a=x)


def sets_and_dicts(n):
    d = {}
    for i in range(n):
        d[i % 5] = d.get(i % 5, 0) + i
    return d, {k for k in d if k % 2}, [v for v in d.values() if v > 3]


# -- Tests ------------------------------------------------------------------------------

def truth_of_merged_value(a, b):
    x = a if a else None
    y = a or b
    out = []
    if x:
        out.append("x")
    if not y:
        out.append("not y")
    while x:
        out.append("loop")
        x = None
    return out


class SlotOwner:
    __slots__ = ("slot",)


class SlotBorrower:
    borrowed = SlotOwner.slot


def store_borrowed_slot(o):
    o.borrowed = 42
    return o.borrowed


def load_borrowed_slot(o):
    return o.borrowed


def counts_while_stored():
    obj = object()
    before = sys.getrefcount(obj)
    refs = [obj] * 10
    during = sys.getrefcount(obj)
    del refs
    return before, during, sys.getrefcount(obj)


class Manager:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


def with_without_as():
    cm = Manager()
    before = sys.getrefcount(cm)
    with cm:
        pass
    with cm:
        raise ValueError
    return before, sys.getrefcount(cm)


class BehaviourTests(JitTestCase):
    def test_arithmetic(self):
        for a, b in [(3, 4), (-7, 2), (2.5, 0.5), (10**30, 7), (5, 0), ("a", "b"),
                     ([1], [2])]:
            self.assert_same(add, a, b)
        for a, b in [(17, 5), (-3, 4), (7.5, 2.0), (0, 0)]:
            self.assert_same(arith, a, b)

    def test_arithmetic_errors(self):
        self.assert_same(add, 1, "x")
        self.assert_same(arith, "s", 2)

    def test_comparisons(self):
        for a, b in [(1, 2), (2, 2), (3.0, 2), ("a", "b"), ((1, 2), (1, 3)), (None, None)]:
            self.assert_same(compare_all, a, b)
        self.assert_same(compare_all, 1, "x")

    def test_int_binary_ops(self):
        # One-digit ints compute inline, the result boxed as a small int or by
        # PyLong_FromLongLong; results past one digit, bigger ints, bools, floats and
        # other types take the helper.
        values = [0, 1, -1, 2, 5, -5, -6, 250, 256, 257, 2**30 - 1, -(2**30 - 1), 2**30,
                  -2**30, 2**40, True, False, 1.5, "s", [1]]
        for a in values:
            for b in values:
                self.assert_same(int_ops, a, b)
        for a, b in [(2, 5), (-3, 1), (250, 6), (256, 1), (-5, 0), (-5, 1), (100, 3)]:
            self.assert_same(small_int_identity, a, b)
        self.assertEqual(small_int_identity(2, 5), [True, True, True])

    def test_subscripts(self):
        class MyList(list):
            def __getitem__(self, i):
                return ("mine", i)

        class Missing(dict):
            def __missing__(self, key):
                return ("missing", key)
        # exact dicts are read straight (BINARY_SUBSCR_DICT), subclasses with __missing__
        # through the generic path; an unhashable key raises TypeError either way
        seqs = [[10, 20, 30], (10, 20, 30), [1, 2], (1,), "abc", {0: "a", 2: "b", 5: "c"},
                {"x": 1, 0: 0, 2: 2, 1: "one"}, Missing({0: 0, 2: 2}), MyList([1, 2, 3]),
                range(5)]
        for seq in seqs:
            for i in [0, 1, 2, 3, -1, -4, 2**30, 2**40, True, 1.0, "x", [1]]:
                self.assert_same(subscripts, seq, i)

    def test_float_binary_ops(self):
        class MyFloat(float):
            def __add__(self, other):
                return "mine"
        values = [0.0, -0.0, 1.5, -2.25, 1e308, float("inf"), float("nan"), 3, 2**40,
                  10**400, True, MyFloat(2.0), 2 + 1j, "s"]
        # Compared by repr: a NaN result is not equal to itself.
        for func in (float_ops, true_div):
            twin = interpreted_twin(func)
            self.compile(func)
            for a in values:
                for b in values:
                    self.assertEqual(repr(outcome(func, a, b)), repr(outcome(twin, a, b)))
        self.assertEqual(self.assert_same(true_div, 1.0, 0.0)[:2], ("raise", ZeroDivisionError))
        self.assertEqual(self.assert_same(true_div, 1.0, -0.0)[:2], ("raise", ZeroDivisionError))

    def test_calls_from_c(self):
        # Once a compiled function has run, calls from C enter its body directly.
        global c_callback
        compiled_callback, compiled_init = c_callback, Built.__init__
        self.compile(compiled_callback)
        self.compile(compiled_init)
        actual = [outcome(called_from_c, 10), outcome(raises_from_c),
                  outcome(called_from_c, 10)]
        try:
            c_callback = interpreted_twin(compiled_callback)
            Built.__init__ = interpreted_twin(compiled_init)
            expected = [outcome(called_from_c, 10), outcome(raises_from_c),
                        outcome(called_from_c, 10)]
        finally:
            c_callback, Built.__init__ = compiled_callback, compiled_init
        self.assertEqual(actual, expected)
        self.assertEqual(actual[0][1][0], [3 + 2 * v for v in range(10)])
        self.assertEqual(actual[1][:3], ("raise", ValueError, "no x"))

    def test_branch_on_compare(self):
        # One-digit ints (|x| < 2**30) compare inline; bigger ones, bools, floats and
        # other types take the helper.
        # Exact floats compare inline too, NaN included; float subclasses and mixed
        # types take the helper.
        class MyFloat(float):
            def __lt__(self, other):
                return True
        values = [0, 1, -1, 7, 2**30 - 1, -(2**30 - 1), 2**30, -2**30, 2**40, True, 1.0,
                  -0.0, 2.5, -3.5, 1e300, float("inf"), float("nan"), 2.0**30,
                  MyFloat(1.0), "x", None]
        for a in values:
            for b in values:
                self.assert_same(branch_on_compare, a, b)
        self.assertEqual(branch_on_compare(float("nan"), float("nan")), ["!="])

    def test_truthiness(self):
        # True, False, None and exact ints are tested inline, the rest through
        # PyObject_IsTrue, whose errors (a raising __bool__, one returning a non-bool)
        # leave as raised.
        class FalseInt(int):
            def __bool__(self):
                return False

        class Empty:
            def __len__(self):
                return 0

            def __deepcopy__(self, memo):
                return self
        for x in [0, 1, -1, 2**100, -2**100, FalseInt(3), "", "s", [], [0], None, 0.0,
                  True, False, Empty(), object, BadBool(ValueError), BadBool(3)]:
            self.assert_same(truthiness, x)

    def test_loops(self):
        for n in [0, 1, 10, 1000]:
            self.assert_same(sum_range, n)
            self.assert_same(while_loop, n)
        self.assert_same(nested_loops, 12)

    def test_containers(self):
        self.assert_same(containers, 1, 2)
        self.assert_same(containers, "x", (1,))
        self.assert_same(containers, [], 2)   # unhashable in a set: TypeError

    def test_unpacking(self):
        self.assert_same(unpack, (1, 2, 3))
        self.assert_same(unpack, [1, 2, 3])
        self.assert_same(unpack, "abc")
        self.assert_same(unpack, iter(range(3)))
        self.assert_same(unpack, (1, 2))
        self.assert_same(unpack, (1, 2, 3, 4))
        self.assert_same(unpack, 5)
        self.assert_same(unpack, [1, 2])
        self.assert_same(unpack, [1, 2, 3, 4])
        self.assert_same(unpack, type("L", (list,), {})([1, 2, 3]))
        self.assert_same(unpack, type("T", (tuple,), {})((1, 2, 3)))
        self.assert_same(swap_locals, 1, "b")
        self.assert_same(rotate, 1, "b", None, [4])
        self.assert_same(unpack_constant)
        for n in (1, 10**30):
            self.assert_same(unpack_fresh_list, n)

    def test_starred_unpacking(self):
        for seq in ([1, 2, 3, 4], (1, 2), "abcdef", range(6), iter(range(4)),
                    {"x": 1, "y": 2, "z": 3}, [1], [], 5, None,
                    type("L", (list,), {})([1, 2, 3])):
            self.assert_same(unpack_starred, seq)
            self.assert_same(unpack_starred_wide, seq)
        self.assert_same(unpack_starred_wide, list(range(300)))

    def test_match_statement(self):
        for v in ([1, 2], [1, 2, 3], (), "ab", b"xy", bytearray(b"ab"), range(2),
                  {"k": 1, "z": 2}, {"a": 1, "b": 5}, {"a": 2},
                  collections.defaultdict(int), collections.OrderedDict(k=3),
                  Point(0, 4), Point(3, 2), Point(3, 3), 7, 2.5, "s", NoMatchArgs(), None):
            self.assert_same(match_value, v)
        for which in range(6):
            for v in (Point(1, 2), NoMatchArgs(), ListMatchArgs(), IntMatchArgs(), 5):
                self.assert_same(match_badly, v, which)

    def test_del_global_and_cell(self):
        for define in (True, False):
            for twice in (False, True):
                self.assert_same(delete_names, define, twice)
        self.assertEqual(delete_names(True, False),
                         (1, "cannot access free variable 'cell' where it is not "
                             "associated with a value in enclosing scope"))

    def test_class_statement(self):
        self.compile(make_class)
        cls = make_class(3)
        self.assertEqual((cls.__name__, cls.__qualname__, cls.__module__),
                         ("Local", "make_class.<locals>.Local", __name__))
        self.assertEqual(cls([1, 2]).total(), 6)
        self.assertIsNot(make_class(1), make_class(1))
        # LOAD_BUILD_CLASS reads the builtins at each run, a replaced or missing one too
        import builtins
        saved = builtins.__build_class__
        try:
            builtins.__build_class__ = lambda func, name, *bases: (name, bases)
            self.assertEqual(make_class(1), ("Local", (list,)))
            del builtins.__build_class__
            self.assertEqual(outcome(make_class, 1)[:3],
                             ("raise", NameError, "__build_class__ not found"))
        finally:
            builtins.__build_class__ = saved

    def test_list_append(self):
        self.assert_same(append_all, [], range(100))      # grows past its room
        self.assert_same(append_all, [None] * 8, "abc")
        self.assert_same(append_all, DoublingList(), range(5))
        self.assert_same(append_all, type("M", (list,), {})(), range(5))
        self.assert_same(append_all, Appender(), "ab")
        self.assert_same(append_all, BorrowsListAppend(), [1])
        o = object()
        count = sys.getrefcount(o)
        lst, _ = append_all([], [o] * 100)
        self.assertEqual(sys.getrefcount(o), count + 100)
        del lst
        self.assertEqual(sys.getrefcount(o), count)

    def test_instructions_with_more_than_32_inputs(self):
        # BuildTuple takes all its inputs' references: borrowed values past the 32nd
        # must be increfed too, or each call frees one of them
        self.compile(annotate)
        types = [type("T%d" % k, (), {}) for k in range(20)]
        counts = [sys.getrefcount(t) for t in types]
        for _ in range(50):
            f = annotate(*types)
            self.assertEqual(list(f.__annotations__.values()), types)
        del f
        gc.collect()
        self.assertEqual([sys.getrefcount(t) for t in types], counts)
        self.assertEqual(list(annotate(*types).__annotations__), ["a%d" % k for k in range(20)])

    def test_unpacking_keeps_reference_counts(self):
        items = [object(), object(), object()]
        counts = [sys.getrefcount(o) for o in items]
        self.compile(unpack)
        self.compile(rotate)
        for _ in range(100):
            unpack(items)
            unpack(tuple(items))
            unpack(type("L", (list,), {})(items))
            rotate(*items, None)
        self.assertEqual([sys.getrefcount(o) for o in items], counts)

    def test_attributes_and_methods(self):
        self.assert_same(attributes, Thing(3))
        self.assert_same(attribute_error, Thing(1))

    def test_calls(self):
        self.assert_same(calls, add, 1, 2)
        self.assert_same(calls_keywords, 1)
        self.assert_same(calls, add, 1)   # TypeError from the call

    def test_closures(self):
        self.assert_same(closure_counter, 5)

    def test_defaults_bound_by_direct_calls(self):
        # A compiled call fills the missing arguments from the callee's defaults (one
        # shared list here), and new defaults are seen at once.
        self.compile(with_defaults)
        self.compile(call_with_and_without_defaults)
        twin = interpreted_twin(with_defaults)
        caller_twin = interpreted_twin(call_with_and_without_defaults)
        for defaults in [(10, []), (100, [])]:
            with_defaults.__defaults__ = defaults
            twin.__defaults__ = (defaults[0], [])
            self.assertEqual(call_with_and_without_defaults(with_defaults, 7),
                             caller_twin(twin, 7))
            self.assertEqual(defaults[1], list(range(7)))  # the default itself

    def test_builtin_methods_called_directly(self):
        self.assert_same(builtin_methods, "abc", [], {"k": 1}, "k", [1, 2])
        self.assert_same(builtin_methods, "abc", [], {}, "k", [1])
        self.assert_same(builtin_methods, "abc", [], {}, "k", [])  # IndexError
        self.assert_same(builtin_methods, "abc", [], {}, [], [1])  # TypeError: unhashable
        self.assert_same(builtin_method_bad_arguments, "abc")      # TypeError: arguments
        self.assert_same(builtin_function_bad_arguments, "abc")
        self.assert_same(builtin_methods, 5, [], {}, "k", [1])     # TypeError: len(5)
        # a C function that breaks the protocol is a SystemError, as through vectorcall
        # (a --with-pydebug build makes it a fatal error, in the interpreter too)
        if _testcapi is not None and not hasattr(sys, "gettotalrefcount"):
            self.assert_same(call_no_args, _testcapi.return_null_without_error)
            self.assert_same(call_no_args, _testcapi.return_result_with_error)

    def test_starred_calls(self):
        # CALL_FUNCTION_EX converts what is not a tuple (or not a dict) as the interpreter
        # does, with its messages, instead of leaving for it.
        def show(*args, **kwargs):
            return args, sorted(kwargs.items())
        self.compile(starred_call)
        self.compile(starred_positional)
        before = deopts_unless_jit_everywhere()
        self.assertEqual(starred_positional(show, [1, 2]), ((1, 2), []))
        self.assertEqual(starred_call(show, (x for x in "ab"), Keys(k=3)),
                         (("a", "b"), [("k", 3)]))
        self.assertEqual(deopts_unless_jit_everywhere(), before)
        for args, kwargs in (([1, 2], {"a": 1}), ((1,), {}), ("xy", Keys(a=1, b=2)),
                             (range(3), collections.OrderedDict(z=0)),
                             (5, {}),                    # not iterable
                             ([1], 5),                   # not a mapping
                             ([1], DuplicateKeys(a=1)),  # a keyword twice
                             ([1], {1: 2}),              # keywords must be strings
                             (5, 6)):                    # keywords are converted first
            with self.subTest(args=args, kwargs=kwargs):
                self.assert_same(starred_call, show, args, kwargs)
        self.assert_same(starred_positional, show, {"k": 1})
        self.assert_same(starred_positional, len, [[1, 2]])
        self.assert_same(starred_positional, len, None)

    def test_local_imports(self):
        self.assert_same(local_imports, "math")
        self.assert_same(local_imports, "no_such_module_here")
        for what in ("module", "name", "sys"):
            with self.subTest(what=what):
                self.assert_same(import_missing, what)
        # a replaced builtins.__import__ is called with the interpreter's arguments
        func = types.FunctionType(imports_through_builtins.__code__,
                                  {"__builtins__": {"__import__": fake_import}})
        self.assert_same(func)
        func = types.FunctionType(imports_through_builtins.__code__, {"__builtins__": {}})
        self.assert_same(func)   # ImportError: __import__ not found

    def test_unpacked_displays(self):
        self.compile(unpacked_displays)
        for a, b in (({"x": 1}, {"k": 2}), ({}, Keys(z=3)), ({1: 2}, 5), ("ab", {})):
            with self.subTest(a=a, b=b):
                self.assert_same(unpacked_displays, a, b)

    def test_lines_seen_by_lookups(self):
        self.assert_same(lines_seen_by_lookups, LineReporter())

    def test_module_attributes(self):
        self.compile(module_attributes)
        twin = interpreted_twin(module_attributes)
        module = types.ModuleType("m")
        module.value, module.function = 1, lambda x: x * 10
        for change in (None, "value", "function", "delete", "restore"):
            if change == "value":
                module.value = "new"
            elif change == "function":
                module.function = lambda x: -x
            elif change == "delete":
                del module.value
            elif change == "restore":
                module.value = 5
            self.assertEqual(outcome(module_attributes, module, 3),
                             outcome(twin, module, 3))

    def test_caches_seeded_by_the_interpreter(self):
        # A function the specialising interpreter ran first (as under -X jit-auto) is
        # compiled with its inline caches' entries: LOAD_ATTR_MODULE's, LOAD_ATTR_SLOT's,
        # LOAD_METHOD's and LOAD_GLOBAL's seed compiled code's caches.
        module = types.ModuleType("m")
        module.value, module.function = 1, lambda x: x * 10
        twin = interpreted_twin(module_attributes)
        warm = interpreted_twin(module_attributes)
        for _ in range(200):
            warm(module, 1)
        self.compile(warm)
        self.assertEqual(outcome(warm, module, 3), outcome(twin, module, 3))
        module.value = "new"
        self.assertEqual(outcome(warm, module, 3), outcome(twin, module, 3))
        # the same through -X jit-auto, in a process of its own
        script_helper.assert_python_ok(
            "-X", "jit-auto=3", "-c",
            "import os, json\n"
            "for i in range(10):\n"
            "    assert json.dumps({'p': os.path.join('a', str(i))}) == "
            "'{\"p\": \"a/%d\"}' % i\n")

    def test_closures_entered_directly(self):
        # Compiled code enters a compiled closure's body straight away (no interpreter
        # activation): it copies the free variables and makes the cells first.
        adder = self.compile(make_adder(10))
        self.compile(cell_argument)
        self.compile(call_counting_down)
        twin = interpreted_twin(call_counting_down)
        for n in (3, 5):  # 5: the fourth call raises in the closure
            self.assertEqual(outcome(call_counting_down, adder, n),
                             outcome(twin, interpreted_twin(adder), n))
        self.assertEqual(outcome(call_counting_down, cell_argument, 3),
                         outcome(twin, interpreted_twin(cell_argument), 3))

    def test_raise_and_traceback(self):
        self.assert_same(raise_value_error, 1)
        self.assert_same(raise_value_error, 3)

    def test_exception_handlers_run_in_the_interpreter(self):
        self.assert_same(try_except, 2)
        self.assert_same(try_except, 0)

    def test_with(self):
        self.assert_same(with_statement, threading.Lock())

    def test_unbound_and_deleted_locals(self):
        self.assert_same(unbound_local, True)
        self.assert_same(unbound_local, False)
        self.assert_same(deleted_local, 1)

    def test_name_error(self):
        _, typ, msg, _ = self.assert_same(missing_global)
        self.assertIs(typ, NameError)

    def test_identity(self):
        x = object()
        self.assert_same(identity_tests, x, x)
        self.assert_same(identity_tests, x, object())
        self.assert_same(identity_tests, None, 0)

    def test_is_none(self):
        for x in [None, 0, "", object()]:
            self.assert_same(is_none_checks, x)

    def test_frame_introspection(self):
        self.assert_same(frame_introspection, 41)

    def test_allocation_hooks_see_the_current_line(self):
        # tracemalloc records the frame's line at each allocation: compiled code keeps
        # it current before building a tuple (or a list, a string), as the interpreter
        # does.
        tracemalloc.start()
        try:
            self.assert_same(allocation_line)
        finally:
            tracemalloc.stop()

    def test_frame_object_outliving_the_call(self):
        # A frame object that outlives its call reports the line it returned from.
        def lines(f):
            frames = []
            f(lambda: frames.append(sys._getframe(1)))
            return frames[0].f_lineno
        twin = interpreted_twin(returns_after_capture)
        self.compile(returns_after_capture)
        self.assertEqual(lines(returns_after_capture), lines(twin))

    def test_dicts_sets_comprehensions(self):
        self.assert_same(sets_and_dicts, 20)

    def test_mutation_during_iteration(self):
        self.assert_same(mutating_loop, [1, 2, 3, 4])

    def test_truth_of_merged_values(self):
        # Values merged from two paths (phis) have no known type: no bool shortcut.
        for a, b in [(1, 0), (0, 0), ("", [1]), ([2], None), (True, False)]:
            self.assert_same(truth_of_merged_value, a, b)

    def test_slot_descriptor_of_another_class(self):
        # The descriptor refuses objects that are not instances of its class; a cached
        # slot offset must not apply to them.
        for _ in range(3):
            self.assert_same(store_borrowed_slot, SlotBorrower())
            self.assert_same(load_borrowed_slot, SlotBorrower())

    def test_reference_counts_of_locals(self):
        # A value stored in a local holds no extra reference in compiled code.
        self.assert_same(counts_while_stored)

    def test_with_statement_releases_the_entered_value(self):
        # What __enter__ returned is an owned reference even when nothing binds it.
        self.assert_same(with_without_as)

    def test_compiled_code_keeps_no_module_alive(self):
        # Compiled code must not hold its globals: a module whose dict is in a cycle
        # with its functions is still collected.
        destroyed = []
        m = types.ModuleType("jit_cycle")
        m.destroyed = destroyed
        exec("class A:\n"
             "    def __init__(self, l):\n"
             "        self.l = l\n"
             "    def __del__(self):\n"
             "        self.l.append(1)\n", m.__dict__)
        self.compile(m.A.__init__)
        m.a = m.A(destroyed)
        del m
        gc.collect()
        self.assertEqual(destroyed, [1])

    def test_types_change_mid_loop(self):
        self.assert_same(type_change_mid_loop, [1, 2, 3.5, 4])
        self.assert_same(type_change_mid_loop, [1, 2, "x"])


# -- Inline caches: each lookup site caches what it found and must notice every change ----

class Plain:
    kind = "class value"

    def __init__(self, x):
        self.x = x

    def method(self):
        return ("method", self.x)


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x):
        self.x = x

    def method(self):
        return ("slotted method", self.x)


def read_attrs(o):
    return (o.x, o.kind)


def read_x(o):
    return o.x


def write_x(o, v):
    o.x = v
    return o.x


def call_method(o):
    return o.method()


def call_done(o):
    return o.done()


def read_global():
    return cache_global, len("abc")


def read_module_attr(m):
    return m.value, m.func()


def read_global_module_attr():
    # compiled for the module the global names then: its attributes are read without a
    # helper call while its dict's keys are unchanged
    return cache_module.value, cache_module.func()


cache_global = 1


class InlineCacheTests(JitTestCase):
    """A site's cache is filled on first use; these change what it cached and check that
    compiled code and the interpreter still agree after every change."""

    def steps(self, func, args_fn, changes):
        """Compile func, then call it and its interpreted twin before and after each change
        (a function of no arguments that mutates shared state)."""
        # Fresh code objects: compiled code with caches no other test has filled.
        twin = interpreted_twin(func)
        func = self.compile(interpreted_twin(func))
        for change in [None] + changes:
            if change is not None:
                change()
            for _ in range(3):  # the first call fills the cache, the others hit it
                self.assertEqual(outcome(func, *args_fn()), outcome(twin, *args_fn()),
                                 change)

    def test_instance_and_class_values(self):
        C = type("C", (Plain,), {})
        o = C(1)

        def shadow_class_value():
            o.kind = "instance value"

        def materialise_dict():
            o.__dict__["x"] = 5

        def add_property():
            C.x = property(lambda self: "property")

        def remove_property():
            del C.x

        def change_class_value():
            Plain.kind = "changed"

        try:
            self.steps(read_attrs, lambda: (o,),
                       [shadow_class_value, materialise_dict, add_property,
                        remove_property, change_class_value])
        finally:
            Plain.kind = "class value"

    def test_missing_attribute_and_deletion(self):
        o = Plain(1)

        def delete():
            del o.x

        def restore():
            o.x = 3

        self.steps(read_x, lambda: (o,), [delete, restore])

    def test_polymorphic_site(self):
        objs = [Plain(1), Slotted(2), types.SimpleNamespace(x=3), Plain(4)]
        self.compile(read_x)
        twin = interpreted_twin(read_x)
        for _ in range(200):
            for o in objs:
                self.assertEqual(read_x(o), twin(o))

    def test_slots(self):
        o = Slotted(1)

        def empty_slot():
            del o.x

        self.steps(read_x, lambda: (o,), [empty_slot])
        self.steps(write_x, lambda: (o, 7), [empty_slot])

    def test_stores(self):
        o = Plain(1)

        def add_setter():
            Plain.x = property(lambda self: "p", lambda self, v: None)

        try:
            self.steps(write_x, lambda: (o, 9), [add_setter])
        finally:
            del Plain.x
        self.steps(write_x, lambda: (Plain(1), 2), [])
        frozen = (1, 2)
        self.steps(write_x, lambda: (frozen, 2), [])

    def test_store_after_delete_keeps_dict_order(self):
        def make():
            o = Plain(1)
            o.y = 2
            del o.x
            return o

        def store_and_list(o):
            o.x = 3
            o.z = 4
            return vars(o), list(vars(o))

        self.steps(store_and_list, lambda: (make(),), [])

    def test_methods(self):
        C = type("C", (Plain,), {})
        o = C(1)

        def replace_method():
            C.method = lambda self: ("replaced", self.x)

        def shadow_in_instance():
            o.method = lambda: "instance attribute"

        def unshadow():
            del o.method

        self.steps(call_method, lambda: (o,),
                   [replace_method, shadow_in_instance, unshadow])
        self.steps(call_method, lambda: (Slotted(3),), [])

    def test_instance_dict(self):
        # An instance whose attributes became a real dict (read through __dict__): the
        # caches hint at its entries and check its keys for shadowing methods.
        C = type("C", (Plain,), {})
        o = C(1)
        vars(o)

        def add_key():
            o.__dict__["other"] = 1

        def delete_and_restore():
            del o.x
            o.x = 2

        def grow():
            for k in range(40):
                setattr(o, "a%d" % k, k)

        def shadow_method():
            o.method = lambda: "instance attribute"

        def unshadow():
            del o.method

        def replace_method():
            C.method = lambda self: ("replaced", self.x)

        self.steps(read_x, lambda: (o,), [add_key, delete_and_restore, grow])
        self.steps(call_method, lambda: (o,),
                   [add_key, shadow_method, unshadow, grow, replace_method])

    def test_dict_offset_instances(self):
        # Instances whose dict sits at tp_dictoffset (C types that have one, and their
        # subclasses): methods before and after the dict exists, then shadowed, and
        # attributes found in the dict.
        class E(Exception):
            def method(self):
                return ("method", self.args)

        e = E(1)
        fut = asyncio.Future(loop=asyncio.new_event_loop())
        fut._loop.close()

        def set_attrs():
            e.x = 5
            fut.x = 6

        def shadow():
            e.method = lambda: "instance attribute"
            fut.done = lambda: "instance attribute"

        def unshadow():
            del e.method
            del fut.done

        changes = [set_attrs, shadow, unshadow]
        self.steps(call_method, lambda: (e,), changes)
        self.steps(call_done, lambda: (fut,), changes)
        self.steps(read_x, lambda: (e,), changes)
        self.steps(read_x, lambda: (fut,), changes)

    def test_attributes_of_a_global_module(self):
        g = globals()
        m = types.ModuleType("cache_module")
        m.value, m.func = 1, lambda: "f"
        g["cache_module"] = m

        def rebind():
            m.value = 2

        def add_key():
            m.extra = None

        def another_module():
            other = types.ModuleType("other")
            other.value, other.func = 3, lambda: "o"
            g["cache_module"] = other

        def not_a_module():
            g["cache_module"] = types.SimpleNamespace(value=4, func=lambda: "n")

        def back_and_delete():
            g["cache_module"] = m
            del m.func

        try:
            self.steps(read_global_module_attr, lambda: (),
                       [rebind, add_key, another_module, not_a_module, back_and_delete])
        finally:
            del g["cache_module"]

    def test_module_attribute_with_a_non_str_global_key(self):
        # globals with a non-str key: compiling looks nothing up there (a lookup could
        # run an __eq__), and the attribute is read as ever
        compared = []

        class Key:
            def __hash__(self):
                return hash("cache_module")

            def __eq__(self, other):
                compared.append(other)
                return False
        m = types.ModuleType("m")
        m.value, m.func = 1, lambda: "f"
        g = {Key(): 0, "__builtins__": __builtins__, "cache_module": m}
        func = types.FunctionType(read_global_module_attr.__code__, g)
        compared.clear()  # building g compared its keys
        self.assertTrue(cinderjit.force_compile(func))
        self.assertEqual(compared, [])
        self.assertEqual(func(), (1, "f"))
        self.assertEqual(func(), (1, "f"))

    def test_globals_and_builtins(self):
        g = globals()

        def rebind():
            g["cache_global"] = 2

        def shadow_builtin():
            g["len"] = lambda s: "shadowed"

        def unshadow_builtin():
            del g["len"]

        def delete_global():
            del g["cache_global"]

        try:
            self.steps(read_global, lambda: (),
                       [rebind, shadow_builtin, unshadow_builtin, delete_global])
        finally:
            g["cache_global"] = 1
            g.pop("len", None)

    def test_module_attributes(self):
        # read without the helper while the module dict's keys are unchanged
        m = types.ModuleType("m")
        m.value = 1
        m.func = lambda: "f"
        other = types.ModuleType("other")
        other.value, other.func = 3, lambda: "o"
        current = [m]

        def rebind():
            m.value = 2

        def replace_func():
            m.func = lambda: "g"

        def add_key():
            m.extra = None

        def other_module():
            current[0] = other

        def not_a_module():
            current[0] = types.SimpleNamespace(value=4, func=lambda: "n")

        def back_and_delete():
            current[0] = m
            del m.value

        self.steps(read_module_attr, lambda: (current[0],),
                   [rebind, replace_func, add_key, other_module, not_a_module,
                    back_and_delete])


# -- Calls between compiled functions: the caller pushes the callee's frame and runs its
#    body directly; whatever the callee does must look as through the interpreter ---------

def callee(a, b=10, *, c=100):
    return a + b + c


def callee_raises(x):
    return 1 // x


def callee_deopts_in_loop(items):
    total = 0
    for v in items:
        total = total + v  # a str item makes the helper raise mid-loop
    return total


def callee_handles(x):
    try:
        return 10 // x
    except ZeroDivisionError:
        return "handled"


def direct_calls(x):
    return (callee(x), callee(x, 2), callee(x, c=3), callee(b=4, a=x),
            callee(*(x, 5)), callee_handles(x))


def direct_call_raising(x):
    return callee_raises(x) + 1


def direct_call_deopting(items):
    return callee_deopts_in_loop(items)


def closure_maker(x):
    def inner(y):
        return x + y
    return inner(1), inner(2)


def frames_seen():
    return [f.f_code.co_name for f in frame_chain(sys._getframe())]


def frame_chain(f):
    out = []
    while f is not None and len(out) < 3:
        out.append(f)
        f = f.f_back
    return out


def calls_frames_seen():
    return frames_seen()


class DirectCallTests(JitTestCase):
    def setUp(self):
        for f in (callee, callee_raises, callee_deopts_in_loop, callee_handles, frames_seen,
                  frame_chain):
            self.compile(f)

    def test_arguments_defaults_keywords(self):
        self.assert_same(direct_calls, 1)
        self.assert_same(direct_calls, 0)

    def test_callee_raises(self):
        self.assert_same(direct_call_raising, 0)
        self.assert_same(direct_call_raising, 1)

    def test_callee_deopts(self):
        self.assert_same(direct_call_deopting, [1, 2, 3])
        self.assert_same(direct_call_deopting, [1, "x", 3])

    def test_closures(self):
        self.assert_same(closure_maker, 5)

    def test_frames(self):
        self.assertEqual(self.assert_same(calls_frames_seen)[1][:2],
                         ["frames_seen", "calls_frames_seen"])

    def test_tracing_turned_on_in_the_frame(self):
        # A debugger's set_trace(): the rest of the frame is traced line by line.
        def run(f):
            events = []

            def tracer(frame, event, arg):
                if frame.f_code is f.__code__:
                    events.append((event, frame.f_lineno - f.__code__.co_firstlineno))
                return tracer

            try:
                f(tracer)
            finally:
                sys.settrace(None)
            return events

        def f(tracer):
            sys._getframe().f_trace = tracer
            sys.settrace(tracer)
            x = 1
            return x

        twin = interpreted_twin(f)
        self.compile(f)
        self.assertEqual(run(f), run(twin))
        self.assertIn(("line", 3), run(f))

    def test_tracing_turned_on_in_callee(self):
        events = []

        def tracer(frame, event, arg):
            events.append((frame.f_code.co_name, event))
            return tracer

        def start_tracing():
            sys.settrace(tracer)
            return 1

        def caller():
            a = start_tracing()
            return callee(a) + callee(a)

        self.compile(start_tracing)
        self.compile(caller)
        try:
            self.assertEqual(caller(), 222)
        finally:
            sys.settrace(None)
        self.assertIn(("callee", "call"), events)
        self.assertIn(("callee", "return"), events)


CODE_EXTRA_USER = """
import ctypes, gc
api = ctypes.pythonapi
freefunc = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
api._PyEval_RequestCodeExtraIndex.argtypes = (freefunc,)
api._PyEval_RequestCodeExtraIndex.restype = ctypes.c_ssize_t
freed = []
def free(ptr):
    freed.append(ptr)
FREE = freefunc(free)
api._PyEval_RequestCodeExtraIndex(FREE)
f = eval("lambda: 42")
f()
del f
gc.collect()
print(freed)
"""


PERF_MAP_PROGRAM = """
import os
def parent_fn(x):
    return x + 1
def child_fn(x):
    return x * 2
parent_fn(1)
pid = os.fork()
if pid == 0:
    child_fn(2)
    os._exit(0)
os.waitpid(pid, 0)
print(os.getpid(), pid)
"""


class RuntimeTests(JitTestCase):
    @unittest.skipUnless(hasattr(os, "fork"), "needs fork")
    def test_perf_map(self):
        # -X jit-perfmap names each compiled function in /tmp/perf-PID.map, as
        # "START SIZE py::module:qualname"; a forked child's map starts as a copy of its
        # parent's, whose code it shares, and goes on on its own.
        out = script_helper.assert_python_ok("-X", "jit", "-X", "jit-perfmap",
                                             "-c", PERF_MAP_PROGRAM)[1]
        paths = [f"/tmp/perf-{int(pid)}.map" for pid in out.split()]
        maps = []
        try:
            for path in paths:
                with open(path) as f:
                    maps.append([line.split(" ", 2) for line in f.read().splitlines()])
        finally:
            for path in paths:
                if os.path.exists(path):
                    os.unlink(path)
        parent, child = ([name for _, _, name in m] for m in maps)
        self.assertIn("py::__main__:parent_fn", parent)
        self.assertNotIn("py::__main__:child_fn", parent)
        self.assertEqual(child[:len(parent)], parent)
        self.assertIn("py::__main__:child_fn", child[len(parent):])
        for start, size, _ in maps[1]:
            self.assertGreater(int(start, 16), 0)
            self.assertGreater(int(size, 16), 0)

    @unittest.skipIf(ctypes is None, "needs ctypes")
    def test_code_extra_free_functions_of_other_users(self):
        # The JIT keeps its state in co_extra. Another user's free function runs only
        # for code objects given its extra, as without the JIT, even when the user
        # registered after the JIT and the free function is Python code that dies at
        # exit.
        without = script_helper.assert_python_ok("-c", CODE_EXTRA_USER)
        with_jit = script_helper.assert_python_ok("-X", "jit", "-c", CODE_EXTRA_USER)
        self.assertEqual(with_jit[1:], without[1:])

    def test_recursion(self):
        self.assert_same(deep, 100)

    def test_recursion_limit(self):
        self.compile(deep)
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(200)
        try:
            with self.assertRaises(RecursionError):
                deep(10000)
        finally:
            sys.setrecursionlimit(old)
        self.assertEqual(deep(50), 50)

    def test_reentrancy(self):
        def outer(n):
            return [add(i, 1) for i in range(n)]
        self.compile(add)
        self.assertEqual(outer(5), [1, 2, 3, 4, 5])

    def test_keyboard_interrupt_in_compiled_loop(self):
        def spin():
            i = 0
            while True:
                i += 1
        self.compile(spin)
        timer = threading.Timer(0.2, signal.raise_signal, (signal.SIGINT,))
        timer.start()
        try:
            with self.assertRaises(KeyboardInterrupt):
                spin()
        finally:
            timer.cancel()

    def test_interrupt_main_raises_at_the_call(self):
        # As in the interpreter, a pending KeyboardInterrupt is raised by the poll right
        # after the call, at the call: inside the try, with the call's line and offset.
        def interrupted():
            try:
                _thread.interrupt_main()
            except KeyboardInterrupt as e:
                return "caught", e.__traceback__.tb_lineno, e.__traceback__.tb_lasti
            return "missed"

        def escapes():
            _thread.interrupt_main()
            return "missed"
        self.assertEqual(self.assert_same(interrupted)[1][0], "caught")
        self.assertEqual(self.assert_same(escapes)[1], KeyboardInterrupt)

    def test_signal_handler_runs_in_compiled_loop(self):
        # The handler runs at the poll after the call that sent the signal, sees the
        # frame's line there, and the loop goes on in compiled code.
        def loop(n):
            seen = []

            def handler(signum, frame):
                seen.append((frame.f_code.co_name, frame.f_lineno))
            old = signal.signal(signal.SIGUSR1, handler)
            try:
                total = 0
                for i in range(n):
                    if i == 3:
                        signal.raise_signal(signal.SIGUSR1)
                    total += i
                return total, seen
            finally:
                signal.signal(signal.SIGUSR1, old)
        self.compile(loop)
        before = deopts_unless_jit_everywhere()
        call_line = loop.__code__.co_firstlineno + 10
        self.assertEqual(loop(10), (45, [("loop", call_line)]))
        self.assertEqual(deopts_unless_jit_everywhere(), before)
        self.assert_same(loop, 10)

    def test_threads_switch_in_compiled_loops(self):
        # GIL drop requests are handled by compiled loops without leaving them.
        def spin(stop, counter):
            while not stop:
                counter[0] += 1
        self.compile(spin)
        stop, counter = [], [0]
        before = deopts_unless_jit_everywhere()
        t = threading.Thread(target=spin, args=(stop, counter))
        t.start()
        while counter[0] < 1000:
            pass
        stop.append(True)
        t.join()
        self.assertEqual(deopts_unless_jit_everywhere(), before)

    def test_settrace_sees_compiled_functions(self):
        self.compile(add)
        seen = []

        def tracer(frame, event, arg):
            if frame.f_code is add.__code__:
                seen.append(event)
            return tracer
        sys.settrace(tracer)
        try:
            self.assertEqual(add(1, 2), 3)
        finally:
            sys.settrace(None)
        self.assertIn("call", seen)
        self.assertIn("return", seen)

    @unittest.skipUnless(hasattr(sys, "gettotalrefcount"), "needs a --with-pydebug build")
    def test_no_reference_leaks(self):
        funcs = [(sum_range, (50,)), (containers, (1, 2)), (unpack, ((1, 2, 3),)),
                 (unpack, ([1, 2, 3],)), (unpack_fresh_list, (7,)), (rotate, (1, 2, 3, 4)),
                 (append_to_new_list, (range(20),)), (unpack_starred, ([1, 2, 3, 4],)),
                 (unpack_starred_wide, ("abc",)), (make_class, (1,)),
                 (match_value, ({"k": 1, "z": 2},)), (match_value, (Point(0, 4),)),
                 (match_value, ([1, 2, 3],)), (match_badly, (Point(1, 2), 4)),
                 (delete_names, (True, False)), (delete_names, (False, True)),
                 (try_except, (0,)), (unbound_local, (False,)), (calls_keywords, (1,)),
                 (attributes, (Thing(2),)), (type_change_mid_loop, ([1, 2.5],))]
        # truth tests inline and through PyObject_IsTrue (and its error); a module's
        # attributes through the helper and, seeded, without it
        mod = types.ModuleType("leak_check")
        mod.value, mod.func = 1, lambda: "f"
        seeded = types.FunctionType(read_global_module_attr.__code__,
                                    {"__builtins__": __builtins__, "cache_module": mod})
        funcs += [(truthiness, (5,)), (truthiness, (None,)), (truthiness, ([],)),
                  (truthiness, (BadBool(ValueError),)), (read_module_attr, (mod,)),
                  (seeded, ())]
        self.compile(append_all)
        for f, args in funcs:
            self.compile(f)
            for _ in range(5):
                outcome(f, *args)
            gc.collect()
            before = sys.gettotalrefcount()
            for _ in range(50):
                outcome(f, *args)
            gc.collect()
            after = sys.gettotalrefcount()
            self.assertLess(after - before, 10, f.__name__)

    @unittest.skipUnless(hasattr(sys, "gettotalrefcount"), "needs a --with-pydebug build")
    def test_compiled_frozen_code_is_released_at_exit(self):
        # The code objects of importlib's bootstrap (frozen in every build) are static:
        # they are not freed but reset at exit, and their compiled code must be released
        # then too, or the process ends with references and memory still held
        # (-X showrefcount, as test_embed checks).
        source = ("import cinderjit; assert any(name.startswith('_frozen_importlib') "
                  "for name in cinderjit.get_compiled_functions())")
        out = subprocess.run(
            [sys.executable, "-X", "jit", "-I", "-X", "showrefcount", "-c", source],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        self.assertTrue(out.startswith("[0 refs, 0 blocks]"), out)


# -- Generators and coroutines: compiled between yields -----------------------------------

def referents_while_running(holder):
    for x in [10, 20]:    # resumed with the list iterator on the value stack
        yield x
        holder.append(sorted(type(r).__name__ for r in gc.get_referents(holder[0])))


def referents_seen(gen_function):
    """What the collector finds in a generator's frame while the generator runs."""
    holder = []
    holder.append(gen_function(holder))
    list(holder[0])
    return holder[1:]


def counting_gen(n):
    total = 0
    for i in range(n):
        sent = yield i * 2
        if sent is not None:
            total += sent
    return total


def yield_in_call_args(items):
    # The yield happens with NULL, the callable and an argument on the stack.
    out = []
    for x in items:
        out.append(len([x, (yield x)]))
    return out


def delegating_gen(inner_factory, n):
    result = yield from inner_factory(n)
    yield result
    return result + 1


def gen_with_handler(n):
    caught = []
    for i in range(n):
        try:
            yield i
        except ValueError as e:
            caught.append(str(e))
    return caught


def yield_in_handler(n):
    try:
        yield n
    except ValueError:
        yield "caught"
        # resumed inside the except clause: still handling it
        yield sys.exc_info()[0]
    # past the clause's POP_EXCEPT: nothing handled any more
    yield sys.exc_info()[0]


class AsyncManager:
    def __init__(self, log, swallow=False):
        self.log = log
        self.swallow = swallow

    async def __aenter__(self):
        self.log.append("enter")
        await asyncio.sleep(0)
        return len(self.log)

    async def __aexit__(self, tp, value, tb):
        self.log.append(("exit", tp and tp.__name__))
        await asyncio.sleep(0)
        return self.swallow


async def use_async_with(manager, fail):
    async with manager as v:
        manager.log.append(v)
        if fail:
            raise ValueError("boom")
        return v + 1


class Countdown:
    """An asynchronous iterator written as a class: __anext__ suspends once per item."""

    def __init__(self, n):
        self.n = n

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(0)
        if self.n == 0:
            raise StopAsyncIteration
        self.n -= 1
        return self.n


class AsyncIterOfNonIterator:
    def __aiter__(self):
        return 5


class BadAnext:
    def __aiter__(self):
        return self

    def __anext__(self):
        return 5   # not awaitable


async def agen(n):
    for k in range(n):
        await asyncio.sleep(0)
        yield k


async def ticker(n, log):
    """An async generator that receives values, awaits, raises and is closed."""
    try:
        for k in range(n):
            got = yield k
            log.append(("got", got))
            await asyncio.sleep(0)
            if got == "boom":
                raise ValueError("boom")
    except GeneratorExit:
        log.append("closed")
        raise
    finally:
        log.append("finally")


async def drive_tickers(make):
    log = []
    out = [x async for x in make(3, log)]
    g = make(5, log)
    out.append(await g.asend(None))
    out.append(await g.asend("a"))
    try:
        await g.athrow(KeyError("k"))
    except KeyError as e:
        out.append(("KeyError", str(e)))
    g = make(5, log)
    await g.asend(None)
    await g.aclose()
    g = make(5, log)
    await g.asend(None)
    try:
        await g.asend("boom")
    except ValueError as e:
        out.append(("ValueError", str(e)))
    return out, log


async def sum_async_for(make_iterable):
    total = []
    async for x in make_iterable():
        total.append(x)
    return total


def run_async_for(func, make_iterable):
    try:
        return asyncio.run(func(make_iterable))
    except Exception as e:
        return (type(e).__name__, str(e))


def run_async_with_twin(func, make_manager, fail):
    global use_async_with
    saved, use_async_with = use_async_with, func
    try:
        return run_async_with(make_manager, fail)
    finally:
        use_async_with = saved


def run_async_with(make_manager, fail):
    log = []
    try:
        result = asyncio.run(use_async_with(make_manager(log), fail))
    except Exception as e:
        result = (type(e).__name__, str(e))
    return result, log


def yield_after_handler(cache, key):
    # Only the except clause's path reaches the yield: the resume point after it is
    # entered with a stack known from the code's stack depths.
    try:
        return cache[key]
    except KeyError:
        pass
    sent = yield key
    cache[key] = sent
    return [sent, (yield sent)]


def gen_raises(n):
    yield n
    raise KeyError(n)


def introspecting_gen(n):
    # What a resumed generator sees of itself and of its caller.
    for i in range(n):
        frame = sys._getframe()
        yield i, frame.f_back.f_code.co_name, frame.f_lineno


def resume_from(g):
    return next(g)


def gen_deopts_after_resume(items):
    # A global that changes while suspended: the resumed body's guard fails.
    for x in items:
        yield GEN_FACTOR * x


GEN_FACTOR = 2


def drive(genfunc, *args, sends=(), throws=()):
    """Everything a generator does under next(), send() and throw() (of exceptions made by
    the callables in throws): the values it yields, what StopIteration carries and the
    exception it lets out."""
    seen = []
    g = genfunc(*args)
    try:
        seen.append(next(g))
        for v in sends:
            seen.append(g.send(v))
        for make_exception in throws:
            seen.append(g.throw(make_exception()))
        while True:
            seen.append(next(g))
    except StopIteration as e:
        seen.append(("return", e.value))
    return seen


def gen_with_default(a, b=5):
    yield a + b


def gen_with_cell(a):
    def get():
        return a
    yield get()
    a += 1
    yield get()


def gen_in_closure(k):
    def inner(x):
        yield x * k
    return inner


async def coro_plain(x):
    return x


async def agen_plain(x):
    yield x


def frame_seen(frame):
    back = frame.f_back
    return (frame.f_lasti, frame.f_lineno, back and back.f_code.co_name,
            sorted(frame.f_locals))


def created_generators(n, inner, track):
    # Generators, coroutines and async generators made by plain calls, and what they show
    # before they start; coroutine origin tracking takes the interpreter's path.
    seen = []
    for g in (gen_with_default(n), gen_with_default(n, 1), inner(n), gen_with_cell(n),
              counting_gen(2)):
        seen.append((type(g).__name__, inspect.getgeneratorstate(g), frame_seen(g.gi_frame)))
        seen.append(list(g))
    old = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(track)
    try:
        c = coro_plain(n)
    finally:
        sys.set_coroutine_origin_tracking_depth(old)
    seen.append((frame_seen(c.cr_frame), c.cr_origin))
    try:
        c.send(None)
    except StopIteration as e:
        seen.append(e.value)
    a = agen_plain(n)
    seen.append(frame_seen(a.ag_frame))
    try:
        a.asend(None).send(None)
    except StopIteration as e:
        seen.append(e.value)
    a.aclose().close()
    return seen


def create_generator_badly(how):
    if how == "missing":
        return gen_with_default()
    if how == "extra":
        return gen_with_default(1, 2, 3)
    return gen_with_default(1, c=2)


async def coro_leaf(x):
    return x * 3


async def coro_node(x):
    total = 0
    for i in range(x):
        total += await coro_leaf(i)
    return total


async def coro_sleeps(x):
    await asyncio.sleep(0)
    value = await coro_node(x)
    await asyncio.sleep(0)
    return value + 1


async def coro_raises(x):
    await asyncio.sleep(0)
    raise ValueError(x)


async def coro_catches(x):
    try:
        await coro_raises(x)
    except ValueError as e:
        return ("caught", e.args)


class GeneratorTests(JitTestCase):
    def assert_same_driven(self, genfunc, driver, *args, **kwargs):
        """Drive the compiled generator function and its interpreted twin alike."""
        twin = interpreted_twin(genfunc)
        self.compile(genfunc)
        expected = outcome(driver, twin, *fresh(args), **kwargs)
        actual = outcome(driver, genfunc, *fresh(args), **kwargs)
        self.assertEqual(actual, expected)
        return actual

    def test_yield_and_send(self):
        self.assertEqual(self.assert_same_driven(counting_gen, drive, 4, sends=(10, 20)),
                         ("ok", [0, 2, 4, 6, ("return", 30)]))
        self.assert_same_driven(counting_gen, drive, 0)

    def test_stack_kept_across_yields(self):
        # The for loop's iterator and a call's operands live on the stack while suspended.
        self.assertEqual(self.assert_same_driven(yield_in_call_args, drive, [5, 6],
                                                 sends=("a", "b")),
                         ("ok", [5, 6, ("return", [2, 2])]))

    def test_yield_from(self):
        self.compile(counting_gen)
        self.assertEqual(self.assert_same_driven(delegating_gen, drive, counting_gen, 3),
                         ("ok", [0, 2, 4, 0, ("return", 1)]))
        self.assert_same_driven(delegating_gen, drive, lambda n: range(n), 3)

    def test_throw_into_compiled_generator(self):
        self.assertEqual(self.assert_same_driven(gen_with_handler, drive, 3,
                                                 throws=(lambda: ValueError("x"),)),
                         ("ok", [0, 1, 2, ("return", ["x"])]))
        self.assert_same_driven(gen_with_handler, drive, 3, throws=(lambda: KeyError("y"),))

    def test_yield_in_exception_handler(self):
        # The interpreter runs the handler up to its yield; the body resumes compiled
        # inside the except clause and leaves it through POP_EXCEPT.
        self.assertEqual(self.assert_same_driven(yield_in_handler, drive, 1,
                                                 throws=(ValueError,)),
                         ("ok", [1, "caught", ValueError, None, ("return", None)]))
        self.assert_same_driven(yield_in_handler, drive, 1)
        self.assert_same_driven(yield_in_handler, drive, 1, throws=(KeyError,))

    def test_async_generator(self):
        self.compile(ticker)
        twin = interpreted_twin(ticker)
        self.assertEqual(asyncio.run(drive_tickers(ticker)),
                         asyncio.run(drive_tickers(twin)))

    def test_async_for(self):
        self.compile(sum_async_for)
        twin = interpreted_twin(sum_async_for)
        for make in (lambda: Countdown(3), lambda: agen(4), lambda: Countdown(0),
                     lambda: 5, AsyncIterOfNonIterator, BadAnext):
            with self.subTest(make=make):
                self.assertEqual(run_async_for(sum_async_for, make),
                                 run_async_for(twin, make))
        self.assertEqual(run_async_for(sum_async_for, lambda: Countdown(3)), [2, 1, 0])

    def test_async_with(self):
        self.compile(use_async_with)
        twin = interpreted_twin(use_async_with)
        for make in (AsyncManager, lambda log: AsyncManager(log, swallow=True),
                     lambda log: object()):
            for fail in (False, True):
                with self.subTest(make=make, fail=fail):
                    self.assertEqual(run_async_with(make, fail),
                                     run_async_with_twin(twin, make, fail))

    def test_resume_point_reached_through_an_except_clause(self):
        self.assertEqual(self.assert_same_driven(yield_after_handler, drive, {}, "k",
                                                 sends=("v", "w")),
                         ("ok", ["k", "v", ("return", ["v", "w"])]))
        self.assert_same_driven(yield_after_handler, drive, {"k": 1}, "k")

    def test_collector_sees_a_running_frame_as_the_interpreter_does(self):
        # nothing of the frame while it runs: not its locals, not what compiled code
        # took off its value stack at the resume, not the call arguments it put there
        twin = interpreted_twin(referents_while_running)
        self.compile(referents_while_running)
        self.assertEqual(referents_seen(referents_while_running), referents_seen(twin))

    def test_generators_created_directly(self):
        # A plain call of a generator or coroutine function from compiled code makes the
        # generator without an interpreter activation; it must look the same.
        self.compile(gen_with_default)
        self.compile(gen_with_cell)
        for track in (0, 2):
            with self.subTest(track=track):
                self.assert_same(created_generators, 3, gen_in_closure(10), track)
        for how in ("missing", "extra", "keyword"):
            with self.subTest(how=how):
                self.assert_same(create_generator_badly, how)

    def test_generator_raises(self):
        result = self.assert_same_driven(gen_raises, drive, 7)
        self.assertEqual(result[:2], ("raise", KeyError))

    def test_close_and_collect_suspended(self):
        self.compile(yield_in_call_args)
        g = yield_in_call_args([object(), object()])
        next(g)
        g.close()
        g = yield_in_call_args([object()])
        next(g)
        del g
        gc.collect()

    def test_resumed_generator_frame(self):
        # A resumed generator runs in its compiled body without an interpreter
        # activation; what it and its caller see is the interpreter's.
        def observe(genfunc):
            g = genfunc(3)
            seen = []
            for step in (next, resume_from, resume_from):
                seen.append((step(g), inspect.getgeneratorstate(g), g.gi_frame.f_lineno,
                             g.gi_frame.f_lasti, g.gi_frame.f_back))
            seen.append((list(g), inspect.getgeneratorstate(g)))
            return seen
        seen = self.assert_same_driven(introspecting_gen, observe)
        self.assertEqual(seen[0], "ok")
        self.assertEqual(seen[1][1][0][:2], (1, "resume_from"))
        self.assertEqual(seen[1][1][1], inspect.GEN_SUSPENDED)

    def test_generator_deopts_after_resume(self):
        global GEN_FACTOR
        self.compile(gen_deopts_after_resume)
        g = gen_deopts_after_resume([1, 2, 3, 4])
        self.assertEqual(next(g), 2)
        GEN_FACTOR = 10
        try:
            self.assertEqual(list(g), [20, 30, 40])
        finally:
            GEN_FACTOR = 2

    def test_resume_at_the_recursion_limit(self):
        self.compile(counting_gen)
        def nested(depth, g):
            if depth == 0:
                return next(g)
            return nested(depth - 1, g)
        g = counting_gen(3)
        next(g)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(100)
        try:
            with self.assertRaises(RecursionError):
                nested(200, g)
        finally:
            sys.setrecursionlimit(limit)

    def test_generator_started_before_compiling(self):
        def later(n):
            for i in range(n):
                yield i + 1
        g = later(3)
        self.assertEqual(next(g), 1)
        self.compile(later)
        self.assertEqual(list(g), [2, 3])

    def test_generator_expression(self):
        def genexp(items):
            return list(x * 2 for x in items if x)
        self.compile(genexp)
        inner = genexp.__code__.co_consts[1]
        self.assertTrue(inspect_is_generator_code(inner))
        self.assertEqual(genexp([0, 1, 2]), [2, 4])

    def test_coroutines(self):
        for f in (coro_leaf, coro_node, coro_sleeps, coro_raises, coro_catches):
            self.compile(f)
        self.assertEqual(asyncio.run(coro_sleeps(4)), 19)
        self.assertEqual(asyncio.run(coro_catches(2)), ("caught", (2,)))
        with self.assertRaises(ValueError):
            asyncio.run(coro_raises(1))

    def test_coroutines_agree_with_interpreter(self):
        def run(coro_func, x):
            return asyncio.run(coro_func(x))
        self.compile(coro_leaf)
        self.compile(coro_node)
        self.assertEqual(self.assert_same_driven(coro_sleeps, run, 3), ("ok", 10))
        self.assertEqual(self.assert_same_driven(coro_catches, run, 3), ("ok", ("caught", (3,))))

    def test_compiled_awaits_run_eagerly(self):
        import cinder

        class Box:
            async def get(self, x):
                return await coro_leaf(x)

        async def fails_now(x):
            raise ValueError(x)

        async def main(box):
            total = await coro_node(3)            # returns at once: no coroutine made
            total += await box.get(4)             # a bound method, unpacked as PRECALL does
            total += await coro_sleeps(1)         # suspends: the awaiter yields for it
            try:
                await fails_now(5)
            except ValueError as e:
                total += e.args[0]
            return total
        for f in (coro_leaf, coro_node, coro_sleeps, fails_now, main, Box.get):
            self.compile(f)
        before = cinder._eager_coroutine_stats()
        self.assertEqual(asyncio.run(main(Box())), 9 + 12 + 1 + 5)
        returned, suspended, raised = (e - b for e, b in
                                       zip(cinder._eager_coroutine_stats(), before))
        # main's first two awaits and the await chains under them return eagerly.
        self.assertGreaterEqual(returned, 2 + 3 + 1)
        self.assertGreaterEqual(suspended, 2)
        self.assertGreaterEqual(raised, 1)

    def test_awaited_call_errors_where_the_interpreter_reports_them(self):
        async def bad_args():
            return await coro_leaf(1, 2)       # binding fails: reported at the call

        async def body_raises():
            return await coro_raises(1)        # the body raises: reported at the await

        def run(coro_func):
            try:
                asyncio.run(coro_func())
            except Exception as e:
                return traceback.format_exception(e)
        self.assert_same_driven(bad_args, run)
        self.assert_same_driven(body_raises, run)

    def test_traceback_through_generator(self):
        def frames(genfunc, n):
            try:
                list(genfunc(n))
            except KeyError as e:
                return [(f.name, f.lineno) for f in traceback.extract_tb(e.__traceback__)]
        self.assert_same_driven(gen_raises, frames, 4)

    def test_yield_counted(self):
        self.compile(counting_gen)
        before = cinderjit.jit_stats()["deopts"]["yield"]
        list(counting_gen(3))
        self.assertEqual(cinderjit.jit_stats()["deopts"]["yield"], before + 3)


def inspect_is_generator_code(code):
    import inspect
    return bool(code.co_flags & inspect.CO_GENERATOR)


def tearDownModule():
    # asyncio.run() leaves a default event loop policy behind.
    asyncio.set_event_loop_policy(None)


if __name__ == "__main__":
    unittest.main()
