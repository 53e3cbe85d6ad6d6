// Golden IR tests: one file format for HIR and LIR, one driver.
//
// A test file is a list of sections, each opened by a line `--- Title ---`:
//   --- Test Suite ---        the suite's name
//   --- Passes ---            the passes to run (comma separated; empty for none)
// then per case:
//   --- Test Name ---         the case's name
//   --- Input ---             Python source defining `test`, or IR text
//   --- Expected ---          the expected output
// A failing case prints a unified diff. With CINDER_TEST_BLESS=1 in the environment the
// driver rewrites the file's expectations with the actual output instead of failing.
#pragma once

#include <functional>
#include <string>
#include <vector>

struct IrTestCase {
    std::string name;
    std::string input;
    std::string expected;
};

struct IrTestFile {
    std::string path;
    std::string suite;
    std::string passes;
    std::vector<IrTestCase> cases;
};

// Reads a test file; returns false and sets `error` on a malformed file.
bool ir_test_read(const std::string &path, IrTestFile *file, std::string *error);

// Runs every case through `run(passes, input) -> actual text` and reports failures with
// googletest. Blesses the file when CINDER_TEST_BLESS=1.
void ir_test_run(const IrTestFile &file,
                 const std::function<std::string(const std::string &passes,
                                                 const std::string &input)> &run);

// The test files with a given extension in a directory next to this source file.
std::vector<std::string> ir_test_files(const std::string &subdir);
