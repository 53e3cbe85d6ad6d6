// Tests of the built-in cinder module, through the embedding API.

#include <gtest/gtest.h>

#include <cstring>

#include "Python.h"
#include "ref.h"
#include "cinder/version.h"

namespace {

std::string
str_attr(PyObject *mod, const char *name)
{
    Ref value(PyObject_GetAttrString(mod, name));
    if (value.obj == nullptr || !PyUnicode_Check(value.obj)) {
        PyErr_Clear();
        return "<missing>";
    }
    return PyUnicode_AsUTF8(value.obj);
}

}  // namespace

TEST(CinderModule, IsInTheBuiltinModuleTable)
{
    bool found = false;
    for (const struct _inittab *p = PyImport_Inittab; p->name != nullptr; p++) {
        found |= std::strcmp(p->name, "cinder") == 0;
    }
    EXPECT_TRUE(found);
}

TEST(CinderModule, ReportsBothVersions)
{
    Ref mod(PyImport_ImportModule("cinder"));
    ASSERT_NE(mod.obj, nullptr);
    EXPECT_EQ(str_attr(mod.obj, "version"), CINDER_VERSION);
    EXPECT_EQ(str_attr(mod.obj, "upstream_version"), PY_VERSION);
    // Py_GetVersion() starts with the release the interpreter really is.
    EXPECT_EQ(std::strncmp(Py_GetVersion(), "3.11.2 ", 7), 0) << Py_GetVersion();
}

TEST(CinderModule, ImportsOncePerInterpreter)
{
    Ref a(PyImport_ImportModule("cinder"));
    Ref b(PyImport_ImportModule("cinder"));
    ASSERT_NE(a.obj, nullptr);
    EXPECT_EQ(a.obj, b.obj);
}
