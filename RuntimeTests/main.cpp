// googletest entry point for the runtime tests: one embedded interpreter for the whole run.

#include <gtest/gtest.h>

#include "Python.h"

int
main(int argc, char **argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    // The binary sits next to ./python in the build tree; getpath finds Lib/ from it.
    PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, argv[0]);
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
    }
    int result = RUN_ALL_TESTS();
    if (Py_FinalizeEx() < 0) {
        result = 1;
    }
    return result;
}
