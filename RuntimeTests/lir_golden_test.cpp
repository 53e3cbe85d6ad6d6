// LIR golden tests: every file in RuntimeTests/lir_tests/ through ir_test_driver. The
// passes a file may name, run in order on the parsed input:
//   verify     lir_verify (an error becomes the output)
//   regalloc   lir_regalloc, after verifying
//   roundtrip  print, re-parse and print again; the two texts must agree
//   asm        assemble and print the annotated listing (functions without calls, so
//              that no address appears)
// The output is the function as printed after the last pass, or the asm listing.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "ir_test_driver.h"

extern "C" {
#include "Jit/codegen/x86_64.h"
#include "Jit/lir/lir.h"
}

namespace {

std::string
take(char *s)
{
    std::string r = s ? s : "";
    free(s);
    return r;
}

bool
run_lir(const std::vector<std::string> &passes, const std::string &input,
        std::string *output)
{
    char err[512];
    LirFunc *f = lir_parse(input.c_str(), nullptr, nullptr, err, sizeof err);
    if (f == nullptr) {
        *output = std::string("parse: ") + err;
        return false;
    }
    std::string listing;
    bool ok = true;
    for (const std::string &p : passes) {
        if (p == "verify" || p == "regalloc") {
            if (lir_verify(f, err, sizeof err) != 0) {
                *output = std::string("verify: ") + err;
                ok = false;
                break;
            }
            if (p == "regalloc" && lir_regalloc(f, err, sizeof err) != 0) {
                *output = std::string("regalloc: ") + err;
                ok = false;
                break;
            }
        }
        else if (p == "roundtrip") {
            std::string once = take(lir_func_print(f));
            LirFunc *g = lir_parse(once.c_str(), nullptr, nullptr, err, sizeof err);
            if (g == nullptr) {
                *output = std::string("re-parse: ") + err + "\n" + once;
                ok = false;
                break;
            }
            std::string twice = take(lir_func_print(g));
            lir_func_free(g);
            if (once != twice) {
                *output = "round trip differs:\n" + ir_test_diff(once, twice);
                ok = false;
                break;
            }
        }
        else if (p == "asm") {
            CiJitCode code;
            const char *why = nullptr;
            char *dump = nullptr;
            int rc = ci_codegen_x86_64(f, &code, &dump, &why);
            listing = take(dump);
            if (rc != 0) {
                *output = std::string("codegen: ") + why + "\n" + listing;
                ok = false;
                break;
            }
            ci_codegen_release(code.memory);
        }
        else {
            *output = "unknown pass " + p;
            ok = false;
            break;
        }
    }
    if (ok) {
        *output = listing.empty() ? take(lir_func_print(f)) : listing;
    }
    lir_func_free(f);
    return ok;
}

const int kRegistered = ir_test_register_dir("lir_tests", run_lir);

}  // namespace

TEST(LirGolden, FilesArePresent)
{
    EXPECT_GT(kRegistered, 0) << "no cases found under " << ir_test_source_dir()
                              << "/lir_tests";
}

// The driver itself: the format round-trips and the diff marks both sides.
TEST(IrTestDriver, FormatRoundTrips)
{
    std::string text = "Suite\n---\npass1\npass2\n---\nOne\n---\nin 1\n---\nout 1\n---\n"
                       "Two\n---\nin 2\nmore\n---\nout 2\n---\n";
    IrTestFile file;
    std::string err;
    ASSERT_TRUE(ir_test_parse(text, "mem", &file, &err)) << err;
    EXPECT_EQ(file.suite, "Suite");
    ASSERT_EQ(file.passes.size(), 2u);
    ASSERT_EQ(file.cases.size(), 2u);
    EXPECT_EQ(file.cases[1].name, "Two");
    EXPECT_EQ(file.cases[1].input, "in 2\nmore\n");
    EXPECT_EQ(ir_test_format(file), text);
    EXPECT_EQ(ir_test_diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
}
