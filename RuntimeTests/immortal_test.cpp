// Tests of immortal instances: the reference-count encoding (CPython's
// Include/object.h, patches/0003-0004) and Ci_ImmortalizeHeap()
// (Python/immortal.c).

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "Python.h"
#include "cinder/immortal.h"

namespace {

#define SKIP_WITHOUT_IMMORTAL_INSTANCES()                          \
    do {                                                           \
        if (!CI_IMMORTAL_INSTANCES) {                              \
            GTEST_SKIP() << "built --without-immortal-instances";  \
        }                                                          \
    } while (0)

// What an extension compiled against stock 3.11 headers does: plain
// increments and decrements of ob_refcnt, n at a time.
void
stock_refcount_add(PyObject *op, Py_ssize_t n)
{
    op->ob_refcnt += n;
}

// What changes the whole process (immortalize_heap freezes the GC) runs in
// a forked child, as a gtest death test expected to exit with status 0; a
// failed CHILD_CHECK says what on stderr and exits with status 1.
#define CHILD_CHECK(cond)                                               \
    do {                                                                \
        if (!(cond)) {                                                  \
            std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,       \
                         __LINE__, #cond);                              \
            std::exit(1);                                               \
        }                                                               \
    } while (0)

}  // namespace

TEST(Immortal, StartUpObjectsAreImmortal)
{
    SKIP_WITHOUT_IMMORTAL_INSTANCES();
    PyObject *objs[] = {
        Py_None, Py_True, Py_False, Py_Ellipsis, Py_NotImplemented,
        PyLong_FromLong(-5), PyLong_FromLong(0), PyLong_FromLong(256),
        PyTuple_New(0), PyBytes_FromStringAndSize(nullptr, 0),
        PyUnicode_FromString(""), PyUnicode_FromOrdinal('a'),
        PyUnicode_FromOrdinal(0xe9), PyBytes_FromStringAndSize("x", 1),
        (PyObject *)&PyLong_Type, (PyObject *)&PyType_Type,
        (PyObject *)&PyBaseObject_Type, (PyObject *)&PyDict_Type,
    };
    for (PyObject *op : objs) {
        ASSERT_NE(op, nullptr);
        EXPECT_TRUE(Ci_IsImmortal(op)) << Py_TYPE(op)->tp_name;
        EXPECT_EQ(Py_REFCNT(op), _Py_IMMORTAL_REFCNT) << Py_TYPE(op)->tp_name;
    }
}

TEST(Immortal, NewObjectsAreMortal)
{
    PyObject *objs[] = {
        PyList_New(0), PyLong_FromLong(1000), PyFloat_FromDouble(1.5),
        PyUnicode_FromString("not a start-up string"),
    };
    for (PyObject *op : objs) {
        ASSERT_NE(op, nullptr);
        EXPECT_FALSE(Ci_IsImmortal(op)) << Py_TYPE(op)->tp_name;
        EXPECT_EQ(Py_REFCNT(op), 1) << Py_TYPE(op)->tp_name;
        Py_DECREF(op);
    }
}

TEST(Immortal, RefcountingLeavesImmortalObjectsAlone)
{
    SKIP_WITHOUT_IMMORTAL_INSTANCES();
    Py_ssize_t before = Py_REFCNT(Py_None);
    for (int i = 0; i < 1000000; i++) {
        Py_INCREF(Py_None);
    }
    EXPECT_EQ(Py_REFCNT(Py_None), before);
    // Twice as many decrefs as increfs: None must survive.
    for (int i = 0; i < 2000000; i++) {
        Py_DECREF(Py_None);
        Py_XDECREF(Py_None);
    }
    EXPECT_EQ(Py_REFCNT(Py_None), before);
    Py_SET_REFCNT(Py_None, 1);
    EXPECT_EQ(Py_REFCNT(Py_None), before);
    EXPECT_TRUE(Ci_IsImmortal(Py_None));
}

TEST(Immortal, SetImmortalStopsCounting)
{
    SKIP_WITHOUT_IMMORTAL_INSTANCES();
    PyObject *list = PyList_New(0);
    ASSERT_NE(list, nullptr);
    _Py_SetImmortal(list);  // leaked on purpose: it can never be freed
    EXPECT_TRUE(Ci_IsImmortal(list));
    Py_DECREF(list);
    Py_DECREF(list);
    EXPECT_EQ(Py_REFCNT(list), _Py_IMMORTAL_REFCNT);
    ASSERT_EQ(PyList_Append(list, Py_None), 0);
    EXPECT_EQ(PyList_GET_SIZE(list), 1);
}

TEST(Immortal, SurvivesRawCountChangesOfStockExtensions)
{
    SKIP_WITHOUT_IMMORTAL_INSTANCES();
    PyObject *list = PyList_New(0);
    ASSERT_NE(list, nullptr);
    _Py_SetImmortal(list);
    // The 3 << 30 encoding tolerates up to 2**30 - 1 unbalanced raw
    // operations in either direction.
    const Py_ssize_t margin =
        ((Py_ssize_t)1 << (SIZEOF_VOID_P > 4 ? 30 : 28)) - 1;
    stock_refcount_add(list, -margin);
    EXPECT_TRUE(Ci_IsImmortal(list));
    Py_DECREF(list);
    EXPECT_EQ(Py_REFCNT(list), _Py_IMMORTAL_REFCNT - margin);
    stock_refcount_add(list, 2 * margin);
    EXPECT_TRUE(Ci_IsImmortal(list));
    stock_refcount_add(list, -margin);
    EXPECT_EQ(Py_REFCNT(list), _Py_IMMORTAL_REFCNT);
}

TEST(Immortal, MortalCountSaturatesIntoImmortal)
{
    SKIP_WITHOUT_IMMORTAL_INSTANCES();
    if (SIZEOF_VOID_P <= 4) {
        GTEST_SKIP() << "64-bit encoding";
    }
    PyObject *list = PyList_New(0);
    ASSERT_NE(list, nullptr);
    list->ob_refcnt = INT32_MAX;
    EXPECT_FALSE(Ci_IsImmortal(list));
    Py_INCREF(list);  // the 2**31st reference
    EXPECT_TRUE(Ci_IsImmortal(list));
    Py_INCREF(list);
    EXPECT_EQ(Py_REFCNT(list), (Py_ssize_t)INT32_MAX + 1);
    list->ob_refcnt = 1;  // undo, so that it can be freed
    Py_DECREF(list);
}

namespace {

void
immortalize_heap_in_child()
{
    PyObject *main = PyImport_AddModule("__main__");  // borrowed
    CHILD_CHECK(main != nullptr);
    PyObject *globals = PyModule_GetDict(main);
    PyObject *res = PyRun_String(
        "class Point:\n"
        "    def __init__(self, x, y):\n"
        "        self.x, self.y = x, y\n"
        "def area(p):\n"
        "    return p.x * p.y * 1.5\n"
        "data = [{'key %d' % i: Point(i * 1000, 2.5)} for i in range(100)]\n",
        Py_file_input, globals, globals);
    CHILD_CHECK(res != nullptr);
    Py_DECREF(res);
    PyObject *data = PyDict_GetItemString(globals, "data");
    PyObject *area = PyDict_GetItemString(globals, "area");
    CHILD_CHECK(data != nullptr && area != nullptr);
    CHILD_CHECK(!Ci_IsImmortal(data));

    Py_ssize_t marked = Ci_ImmortalizeHeap();
    CHILD_CHECK(!PyErr_Occurred());
    if (!CI_IMMORTAL_INSTANCES) {
        CHILD_CHECK(marked == 0);
        std::exit(0);
    }
    CHILD_CHECK(marked > 100);
    CHILD_CHECK(Ci_IsImmortal(data));
    CHILD_CHECK(Ci_IsImmortal(globals));
    CHILD_CHECK(Ci_IsImmortal(area));
    PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(area);
    CHILD_CHECK(Ci_IsImmortal((PyObject *)code));
    CHILD_CHECK(Ci_IsImmortal(code->co_consts));
    PyObject *dict = PyList_GET_ITEM(data, 99);
    CHILD_CHECK(Ci_IsImmortal(dict));
    PyObject *key, *point;
    Py_ssize_t pos = 0;
    CHILD_CHECK(PyDict_Next(dict, &pos, &key, &point));
    CHILD_CHECK(Ci_IsImmortal(key));    // str keys: not in dict_traverse
    CHILD_CHECK(Ci_IsImmortal(point));
    CHILD_CHECK(Ci_IsImmortal((PyObject *)Py_TYPE(point)));
    PyObject *x = PyObject_GetAttrString(point, "x");
    CHILD_CHECK(x != nullptr && Ci_IsImmortal(x));  // 99000
    // Hashes are computed in the parent, not by a worker's first read.
    CHILD_CHECK(((PyASCIIObject *)key)->hash != -1);
    // Objects made from now on are mortal.
    PyObject *fresh = PyList_New(0);
    CHILD_CHECK(fresh != nullptr && !Ci_IsImmortal(fresh));
    Py_DECREF(fresh);
    // A second call finds the heap done.
    CHILD_CHECK(Ci_ImmortalizeHeap() < marked);
    std::exit(0);
}

}  // namespace

TEST(ImmortalHeap, ImmortalizesWhatIsReachable)
{
    EXPECT_EXIT(immortalize_heap_in_child(), ::testing::ExitedWithCode(0), "");
}
