"""Tests of immortal instances: objects that skip reference counting.

See CinderDoc/immortal.rst. Whatever calls cinder.immortalize_heap() runs in
a child interpreter: it changes the whole process for good.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import unittest
import weakref
from test.support import script_helper

import cinder

requires_immortal = unittest.skipUnless(
    cinder.immortal_instances, "built --without-immortal-instances")


def run_child(source):
    """Run `source` in a new interpreter; fail the test if it fails."""
    return script_helper.assert_python_ok("-c", textwrap.dedent(source))


@requires_immortal
class StartUpTests(unittest.TestCase):
    def test_singletons_and_static_objects(self):
        # (a one-byte bytes constant read from a .pyc file is a new object;
        # slicing returns the shared one)
        for obj in (None, True, False, Ellipsis, NotImplemented, (), b"",
                    "", "a", "\xe9", b"yz"[1:], 0, -5, 256,
                    int, str, type, object, dict):
            with self.subTest(obj=obj):
                self.assertTrue(cinder.is_immortal(obj))

    def test_code_of_frozen_modules(self):
        import importlib._bootstrap
        code = importlib._bootstrap._find_and_load.__code__
        self.assertTrue(cinder.is_immortal(code))

    def test_new_objects_are_mortal(self):
        for obj in ([], {}, object(), 257, -6, 1.5, "two chars" * 2,
                    (1, 2)):
            with self.subTest(obj=obj):
                self.assertFalse(cinder.is_immortal(obj))

    def test_getrefcount_is_stable(self):
        before = sys.getrefcount(None)
        refs = [None] * 100000
        refs2 = list(refs)
        self.assertEqual(sys.getrefcount(None), before)
        del refs, refs2
        self.assertEqual(sys.getrefcount(None), before)
        self.assertGreater(before, 2**30)

    def test_mortal_counts_still_move(self):
        obj = object()
        before = sys.getrefcount(obj)
        refs = [obj] * 10
        self.assertEqual(sys.getrefcount(obj), before + 10)
        del refs
        self.assertEqual(sys.getrefcount(obj), before)


@unittest.skipUnless(hasattr(sys, "gettotalrefcount"), "needs a debug build")
class RefTotalTests(unittest.TestCase):
    """A debug build's sys.gettotalrefcount() counts references to immortal
    objects too, as stock CPython does: the total moves exactly as stock's,
    whichever objects are immortal (regrtest -R relies on it)."""

    def test_references_to_immortal_objects_count(self):
        before = sys.gettotalrefcount()
        refs = [None] * 100000
        self.assertGreaterEqual(sys.gettotalrefcount() - before, 100000)
        del refs
        self.assertLess(abs(sys.gettotalrefcount() - before), 100)

    def test_a_cache_holding_none_instead_of_a_name_counts_the_same(self):
        # The type cache's entries hold a name, or None once cleared: in
        # stock CPython clearing it leaves the total where it was.
        class Names:
            pass
        for i in range(1000):
            getattr(Names, f"name{i}", None)
        before = sys.gettotalrefcount()
        sys._clear_type_cache()
        self.assertLess(abs(sys.gettotalrefcount() - before), 100)

    def test_every_reference_is_released_at_exit(self):
        # As in stock CPython (test_embed's test_no_memleak): the static
        # struct sequence types' counts are reset at exit, immortal or not.
        out = subprocess.run(
            [sys.executable, "-I", "-X", "showrefcount", "-c", "pass"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        self.assertTrue(out.startswith("[0 refs, 0 blocks]"), out)


class ImmortalizeHeapTests(unittest.TestCase):
    def test_without_immortal_instances_it_only_freezes(self):
        if cinder.immortal_instances:
            self.skipTest("built with immortal instances")
        run_child("""
            import cinder, gc
            assert cinder.immortalize_heap() == 0
            assert gc.get_freeze_count() > 0
            assert not cinder.is_immortal(None)
        """)

    @requires_immortal
    def test_reachable_objects_become_immortal(self):
        run_child("""
            import cinder, gc, json, sys

            class Record:
                def __init__(self, n):
                    self.name = "record %d" % n
                    self.values = [n * 1000, n / 7, (n, str(n))]

            records = {"key %d" % i: Record(i) for i in range(1000)}

            def main():
                local_only = "a local str %d" % len(records)
                n = cinder.immortalize_heap()
                assert n > 5000, n
                assert cinder.is_immortal(local_only)
                return n

            main()
            rec = records["key 999"]
            # (rec.__dict__ would be made now: 3.11 keeps attributes inline)
            for obj in (records, rec, rec.name, rec.values,
                        rec.values[0], rec.values[1], rec.values[2],
                        "key 999", [k for k in records][500], Record,
                        Record.__init__, Record.__init__.__code__,
                        Record.__init__.__code__.co_consts, main, json,
                        json.dumps, json.__dict__, sys.modules,
                        int.__dict__["bit_length"]):
                assert cinder.is_immortal(obj), obj
            assert gc.get_freeze_count() > 1000

            # The counts no longer move.
            before = sys.getrefcount(rec)
            refs = [rec] * 1000
            assert sys.getrefcount(rec) == before

            # Objects made from now on are mortal and freed as usual.
            fresh = Record(5000)
            assert not cinder.is_immortal(fresh)
            import weakref
            ref = weakref.ref(fresh)
            del fresh
            assert ref() is None

            # An immortal object outlives its last reference.
            ref = weakref.ref(records["key 5"])
            del records["key 5"]
            gc.collect()
            assert ref() is not None
        """)

    @requires_immortal
    def test_fork_child_mutates_containers(self):
        run_child("""
            import cinder, gc, os, sys, traceback

            data = {
                "strings": ["s%d" % i for i in range(20000)],
                "table": {"k%d" % i: [i, float(i), ("t", i)] for i in range(5000)},
                "nested": [[{"a": (i, str(i))}] for i in range(2000)],
                "numbers": set(range(1000, 3000)),
            }
            snapshot = repr(data)
            cinder.immortalize_heap()
            assert cinder.is_immortal(data["table"]["k7"])

            pid = os.fork()
            if pid == 0:
                try:
                    # Read everything, then change it every way there is.
                    assert repr(data) == snapshot
                    data["strings"].append("new")
                    data["strings"][0] = "changed"
                    del data["strings"][1:1000]
                    data["strings"].sort(reverse=True)
                    data["table"]["k1"].append(object())
                    data["table"].pop("k2")
                    data["table"]["new"] = [object()]
                    for key in list(data["table"])[:2000]:
                        del data["table"][key]
                    data["nested"].clear()
                    data["numbers"].discard(1500)
                    data["numbers"].add(-1)
                    data.clear()
                    gc.collect()
                    assert not data
                except BaseException:
                    traceback.print_exc()
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, status

            # The parent sees its own heap untouched, and can change it too.
            assert repr(data) == snapshot
            data["strings"].clear()
            data["table"].clear()
            gc.collect()
            assert data["numbers"] == set(range(1000, 3000))
        """)

    @requires_immortal
    def test_twice(self):
        run_child("""
            import cinder
            first = [["x%d" % i] for i in range(100)]
            n1 = cinder.immortalize_heap()
            second = [["y%d" % i] for i in range(100)]
            first.append(["z"])
            n2 = cinder.immortalize_heap()
            assert 0 < n2 < n1, (n1, n2)
            assert cinder.is_immortal(second[99][0])
            assert cinder.is_immortal(first[-1][0])
        """)


# An extension module compiled against stock CPython 3.11 headers: its
# Py_INCREF and Py_DECREF are plain ob_refcnt++ and --.
STOCK_EXTENSION = r"""
#include "Python.h"

#ifdef _Py_IsImmortal
#  error "not the stock CPython 3.11 headers"
#endif

/* Py_INCREF `obj` n times, or Py_DECREF it -n times. */
static PyObject *
addref(PyObject *mod, PyObject *args)
{
    PyObject *obj;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &obj, &n)) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(obj);
    }
    for (Py_ssize_t i = 0; i < -n; i++) {
        Py_DECREF(obj);
    }
    Py_RETURN_NONE;
}

/* Drop one reference to the referent of a weakref. */
static PyObject *
decref_referent(PyObject *mod, PyObject *ref)
{
    PyObject *obj = PyWeakref_GetObject(ref);
    Py_DECREF(obj);
    Py_RETURN_NONE;
}

static PyObject *
raw_refcnt(PyObject *mod, PyObject *obj)
{
    return PyLong_FromSsize_t(obj->ob_refcnt);
}

static PyObject *
build(PyObject *mod, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    PyObject *items = Py_BuildValue("(OOOisO)", Py_None, Py_True, Py_False,
                                    7, "x", Py_Ellipsis);
    if (items == NULL || PyList_Append(list, items) < 0) {
        Py_XDECREF(items);
        Py_DECREF(list);
        return NULL;
    }
    Py_DECREF(items);
    return list;
}

static PyTypeObject StaticType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stock_ext.Static",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef methods[] = {
    {"addref", addref, METH_VARARGS, NULL},
    {"decref_referent", decref_referent, METH_O, NULL},
    {"raw_refcnt", raw_refcnt, METH_O, NULL},
    {"build", build, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "stock_ext", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit_stock_ext(void)
{
    if (PyType_Ready(&StaticType) < 0) {
        return NULL;
    }
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL) {
        return NULL;
    }
    Py_INCREF(&StaticType);
    if (PyModule_AddObject(mod, "Static", (PyObject *)&StaticType) < 0) {
        Py_DECREF(&StaticType);
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
"""


def stock_headers(dest):
    """Lay out CPython 3.11.2's own headers in `dest`: Include/ from the build
    tree's `upstream` commit (the pristine tarball) and this build's
    pyconfig.h without Cinder's macro. Returns the -I options."""
    if not sysconfig.is_python_build():
        raise unittest.SkipTest("needs the build tree")
    srcdir = sysconfig.get_config_var("srcdir")
    if shutil.which("git") is None:
        raise unittest.SkipTest("needs git")
    archive = subprocess.run(
        ["git", "-C", srcdir, "archive", "--format=tar", "upstream", "Include"],
        capture_output=True)
    if archive.returncode != 0:
        raise unittest.SkipTest("no `upstream` commit in the build tree")
    subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, check=True)
    with open(os.path.join(srcdir, "pyconfig.h")) as f:
        config = f.read()
    config = config.replace("#define Py_IMMORTAL_INSTANCES 1", "")
    with open(os.path.join(dest, "pyconfig.h"), "w") as f:
        f.write(config)
    return ["-I" + os.path.join(dest, "Include"), "-I" + dest]


@requires_immortal
class StockExtensionTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cc = (sysconfig.get_config_var("CC") or "cc").split()
        if shutil.which(cc[0]) is None:
            raise unittest.SkipTest("needs a C compiler")
        cls.tmp = tempfile.mkdtemp()
        includes = stock_headers(cls.tmp)
        source = os.path.join(cls.tmp, "stock_ext.c")
        with open(source, "w") as f:
            f.write(STOCK_EXTENSION)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        cls.path = os.path.join(cls.tmp, "stock_ext" + suffix)
        subprocess.run(cc + ["-shared", "-fPIC", "-O2"] + includes
                       + ["-o", cls.path, source], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def load(self):
        import importlib.util
        spec = importlib.util.spec_from_file_location("stock_ext", self.path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    def test_unbalanced_raw_decrefs_keep_immortals(self):
        ext = self.load()
        raw = ext.raw_refcnt(None)
        count = sys.getrefcount(None)
        for obj in (None, True, 0, (), ""):
            ext.addref(obj, -100000)
            self.assertTrue(cinder.is_immortal(obj))
            self.assertEqual(sys.getrefcount(obj), count)
        # Each call also returns None with a raw increment (Py_RETURN_NONE).
        self.assertAlmostEqual(ext.raw_refcnt(None), raw - 100000, delta=100)
        ext.addref(None, 300000)
        self.assertTrue(cinder.is_immortal(None))
        self.assertEqual(sys.getrefcount(None), count)
        ext.addref(None, -200000)
        self.assertAlmostEqual(ext.raw_refcnt(None), raw, delta=100)
        for obj in (True, 0, (), ""):
            ext.addref(obj, 100000)

    def test_mortal_objects_count_as_usual(self):
        ext = self.load()
        obj = object()
        before = sys.getrefcount(obj)
        ext.addref(obj, 5)
        self.assertEqual(sys.getrefcount(obj), before + 5)
        ext.addref(obj, -5)
        self.assertEqual(sys.getrefcount(obj), before)

        class C:
            pass
        holder = [C()]
        ref = weakref.ref(holder[0])
        ext.addref(holder[0], 1)
        holder.clear()
        self.assertIsNotNone(ref())
        ext.decref_referent(ref)  # the stock decref frees it
        self.assertIsNone(ref())

    def test_objects_it_builds(self):
        ext = self.load()
        for _ in range(1000):
            built = ext.build()
        self.assertEqual(built, [(None, True, False, 7, "x", ...)])
        self.assertTrue(cinder.is_immortal(None))

    def test_its_static_type_is_immortal(self):
        ext = self.load()
        self.assertTrue(cinder.is_immortal(ext.Static))
        self.assertIsInstance(ext.Static(), ext.Static)

    def test_after_immortalize_heap(self):
        run_child(f"""
            import cinder, importlib.util, sys
            spec = importlib.util.spec_from_file_location("stock_ext", {self.path!r})
            ext = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(ext)
            data = [["item %d" % i, i * 1000] for i in range(1000)]
            cinder.immortalize_heap()
            # Far more decrefs than there are references: nothing is freed.
            for row in data:
                ext.addref(row, -1000)
                ext.addref(row[0], -1000)
            ext.addref(data, -100000)
            assert data[999] == ["item 999", 999000]
            assert all(cinder.is_immortal(row) for row in data)
            assert sys.getrefcount(data) == sys.getrefcount(None)
        """)


if __name__ == "__main__":
    unittest.main()
