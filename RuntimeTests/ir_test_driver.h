// The IR golden-file driver, shared by the HIR and LIR tests. It knows the file format,
// not the IR: a runner callback maps (passes, input text) to output text.
//
// A file holds sections separated by lines that are exactly `---`:
//
//     SuiteName
//     ---
//     PassOne            (the passes to run, one per line; may be empty)
//     PassTwo
//     ---
//     CaseName
//     ---
//     input text
//     ---
//     expected output
//     ---
//     NextCase
//     ...
//
// Every case becomes one googletest test, SuiteName.CaseName. A failure prints a diff;
// running with CINDER_TEST_BLESS=1 rewrites the expected text in place instead.
#ifndef CINDER_RUNTIME_TESTS_IR_TEST_DRIVER_H
#define CINDER_RUNTIME_TESTS_IR_TEST_DRIVER_H

#include <functional>
#include <string>
#include <vector>

struct IrTestCase {
    std::string name;
    std::string input;
    std::string expected;
    int line = 0;  // where the case's name is
};

struct IrTestFile {
    std::string path;
    std::string suite;
    std::vector<std::string> passes;
    std::vector<IrTestCase> cases;
};

// Returns true and sets *output, or false with an error message in *output (which the
// expected text may then match: a case can expect an error).
using IrTestRunner = std::function<bool(const std::vector<std::string> &passes,
                                        const std::string &input, std::string *output)>;

bool ir_test_parse(const std::string &text, const std::string &path, IrTestFile *out,
                   std::string *err);
std::string ir_test_format(const IrTestFile &file);
bool ir_test_read_file(const std::string &path, IrTestFile *out, std::string *err);

// A line diff of two texts, `-` for expected-only lines and `+` for actual-only ones.
std::string ir_test_diff(const std::string &expected, const std::string &actual);

// The RuntimeTests/ source directory (CINDER_TEST_DIR overrides it).
std::string ir_test_source_dir();

// Registers a googletest test for every case of every *.txt file in SUBDIR (relative
// to the RuntimeTests/ source directory), in file-name order. Call before
// RUN_ALL_TESTS, e.g. from a static initialiser. Returns the number of cases.
int ir_test_register_dir(const std::string &subdir, IrTestRunner runner);

// Runs one case: compares, or blesses when CINDER_TEST_BLESS=1. Used by the registered
// tests; exposed for tests of the driver itself.
void ir_test_run_case(const std::string &path, const std::string &case_name,
                      const IrTestRunner &runner);

#endif  // CINDER_RUNTIME_TESTS_IR_TEST_DRIVER_H
