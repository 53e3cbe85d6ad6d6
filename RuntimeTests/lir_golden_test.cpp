// LIR golden tests: every file in RuntimeTests/lir_tests/ through ir_test_driver. The
// passes a file may name, run in order on the parsed input:
//   verify     lir_verify (an error becomes the output)
//   regalloc   lir_regalloc, after verifying
//   roundtrip  print, re-parse and print again; the two texts must agree
//   asm        assemble and print the annotated listing (functions without calls; the
//              one address left, a deopt exit's counter, prints as <address>)
// The output is the function as printed after the last pass, or the asm listing; a
// failure is the output "ERROR: " and its message.

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

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

std::vector<std::string>
split_passes(const std::string &passes)
{
    std::vector<std::string> out;
    std::string cur;
    for (char ch : passes + ",") {
        if (ch == ',' || ch == '\n') {
            size_t b = cur.find_first_not_of(" \t"), e = cur.find_last_not_of(" \t");
            if (b != std::string::npos) {
                out.push_back(cur.substr(b, e - b + 1));
            }
            cur.clear();
        }
        else {
            cur += ch;
        }
    }
    return out;
}

// Runs PASSES on the LIR in INPUT; the result, or an error message, as text.
std::string
run_lir(const std::string &passes_text, const std::string &input)
{
    std::vector<std::string> passes = split_passes(passes_text);
    std::string output;
    char err[512];
    LirFunc *f = lir_parse(input.c_str(), nullptr, nullptr, err, sizeof err);
    if (f == nullptr) {
        return std::string("ERROR: parse: ") + err;
    }
    std::string listing;
    bool ok = true;
    for (const std::string &p : passes) {
        if (p == "verify" || p == "regalloc") {
            if (lir_verify(f, err, sizeof err) != 0) {
                output = std::string("verify: ") + err;
                ok = false;
                break;
            }
            if (p == "regalloc" && lir_regalloc(f, err, sizeof err) != 0) {
                output = std::string("regalloc: ") + err;
                ok = false;
                break;
            }
        }
        else if (p == "roundtrip") {
            std::string once = take(lir_func_print(f));
            LirFunc *g = lir_parse(once.c_str(), nullptr, nullptr, err, sizeof err);
            if (g == nullptr) {
                output = std::string("re-parse: ") + err + "\n" + once;
                ok = false;
                break;
            }
            std::string twice = take(lir_func_print(g));
            lir_func_free(g);
            if (once != twice) {
                output = "round trip differs:\n" + once + "---\n" + twice;
                ok = false;
                break;
            }
        }
        else if (p == "asm") {
            CiJitCode code;
            const char *why = nullptr;
            char *dump = nullptr;
            int rc = ci_codegen_x86_64(f, &code, &dump, &why);
            listing = std::regex_replace(take(dump), std::regex("\\b[0-9]{12,}\\b"),
                                         "<address>");
            if (rc != 0) {
                output = std::string("codegen: ") + why + "\n" + listing;
                ok = false;
                break;
            }
            ci_codegen_release(code.memory);
        }
        else {
            output = "unknown pass " + p;
            ok = false;
            break;
        }
    }
    if (ok) {
        output = listing.empty() ? take(lir_func_print(f)) : listing;
    }
    else {
        output = "ERROR: " + output;
    }
    lir_func_free(f);
    return output;
}

}  // namespace

TEST(LirGolden, AllFiles)
{
    std::vector<std::string> files = ir_test_files("lir_tests");
    ASSERT_FALSE(files.empty());
    for (const std::string &path : files) {
        IrTestFile file;
        std::string error;
        ASSERT_TRUE(ir_test_read(path, &file, &error)) << error;
        ir_test_run(file, run_lir);
    }
}
