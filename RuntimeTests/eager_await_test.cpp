// Tests of the C API for awaited calls (Include/cinder/eager_await.h).

#include <gtest/gtest.h>

#include "Python.h"
#include "ref.h"
#include "cinder/eager_await.h"

namespace {

const char kSource[] =
    "import types\n"
    "@types.coroutine\n"
    "def pause(v):\n"
    "    return (yield v)\n"
    "async def done(x):\n"
    "    return x * 2\n"
    "async def suspends(x):\n"
    "    return (await pause(x)) + 1\n"
    "async def fails():\n"
    "    raise KeyError('k')\n"
    "def returns_awaitable():\n"
    "    return done(5)\n";

class EagerAwaitTest : public ::testing::Test {
  protected:
    void SetUp() override
    {
        globals_ = PyDict_New();
        ASSERT_NE(globals_, nullptr);
        PyDict_SetItemString(globals_, "__builtins__", PyEval_GetBuiltins());
        Ref res(PyRun_String(kSource, Py_file_input, globals_, globals_));
        ASSERT_NE(res.obj, nullptr);
    }
    void TearDown() override
    {
        Py_CLEAR(globals_);
        PyErr_Clear();
    }
    PyObject *fn(const char *name) { return PyDict_GetItemString(globals_, name); }

    Ci_AwaitStatus call(const char *name, PyObject *arg, Ref &result, Ref &yielded)
    {
        PyObject *args[1] = {arg};
        return Ci_PyObject_CallAwaited(fn(name), args, arg ? 1 : 0, nullptr,
                                       &result.obj, &yielded.obj);
    }

    PyObject *globals_ = nullptr;
};

}  // namespace

TEST_F(EagerAwaitTest, CompletedCallGivesTheResult)
{
    Ref x(PyLong_FromLong(21)), result, yielded;
    ASSERT_EQ(call("done", x.obj, result, yielded), CI_AWAIT_DONE);
    EXPECT_EQ(PyLong_AsLong(result.obj), 42);
    EXPECT_EQ(yielded.obj, nullptr);
}

TEST_F(EagerAwaitTest, SuspendedCallGivesCoroutineAndYieldedValue)
{
    Ref x(PyLong_FromLong(7)), result, yielded;
    ASSERT_EQ(call("suspends", x.obj, result, yielded), CI_AWAIT_SUSPENDED);
    EXPECT_TRUE(PyCoro_CheckExact(result.obj));
    EXPECT_EQ(PyLong_AsLong(yielded.obj), 7);
    Ref ten(PyLong_FromLong(10));
    PyObject *value = nullptr;
    ASSERT_EQ(PyIter_Send(result.obj, ten.obj, &value), PYGEN_RETURN);
    Ref owned(value);
    EXPECT_EQ(PyLong_AsLong(value), 11);
}

TEST_F(EagerAwaitTest, ErrorsPropagate)
{
    Ref result, yielded;
    ASSERT_EQ(call("fails", nullptr, result, yielded), CI_AWAIT_ERROR);
    EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_KeyError));
    PyErr_Clear();
    // Wrong arguments fail at the call, as they would for the lazy path.
    ASSERT_EQ(call("done", nullptr, result, yielded), CI_AWAIT_ERROR);
    EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_TypeError));
    PyErr_Clear();
}

TEST_F(EagerAwaitTest, OtherCallablesAreCalledNormally)
{
    Ref result, yielded;
    ASSERT_EQ(call("returns_awaitable", nullptr, result, yielded), CI_AWAIT_LAZY);
    EXPECT_TRUE(PyCoro_CheckExact(result.obj));
    PyObject *value = nullptr;
    ASSERT_EQ(PyIter_Send(result.obj, Py_None, &value), PYGEN_RETURN);
    Ref owned(value);
    EXPECT_EQ(PyLong_AsLong(value), 10);

    // A C function never sees the marker: len() gets exactly one argument.
    Ref list(Py_BuildValue("[iii]", 1, 2, 3));
    Ref builtins(PyImport_ImportModule("builtins"));
    Ref len(PyObject_GetAttrString(builtins.obj, "len"));
    PyObject *args[1] = {list.obj};
    Ref r2, y2;
    ASSERT_EQ(Ci_PyObject_CallAwaited(len.obj, args, 1, nullptr, &r2.obj, &y2.obj),
              CI_AWAIT_LAZY);
    EXPECT_EQ(PyLong_AsLong(r2.obj), 3);
}

TEST_F(EagerAwaitTest, SwitchOffMakesCallsLazy)
{
    int previous = Ci_EagerAwait_SetEnabled(0);
    Ref x(PyLong_FromLong(1)), result, yielded;
    EXPECT_EQ(call("done", x.obj, result, yielded), CI_AWAIT_LAZY);
    Ci_EagerAwait_SetEnabled(previous);
    EXPECT_TRUE(PyCoro_CheckExact(result.obj));
    PyObject *value = nullptr;
    ASSERT_EQ(PyIter_Send(result.obj, Py_None, &value), PYGEN_RETURN);
    Py_XDECREF(value);
}

TEST_F(EagerAwaitTest, WaitHandleHoldsBothValues)
{
    PyObject *coro = Py_NewRef(Py_None);
    PyObject *waiter = PyLong_FromLong(3);
    Ref wh(Ci_PyWaitHandle_New(coro, waiter));
    ASSERT_NE(wh.obj, nullptr);
    ASSERT_TRUE(Ci_PyWaitHandle_CheckExact(wh.obj));
    EXPECT_EQ(((Ci_PyWaitHandle *)wh.obj)->wh_coro, Py_None);
    EXPECT_EQ(PyLong_AsLong(((Ci_PyWaitHandle *)wh.obj)->wh_waiter), 3);
}
