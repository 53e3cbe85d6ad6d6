// The golden IR test driver (see ir_test_driver.h).

#include "ir_test_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>

#ifndef CINDER_RUNTIME_TESTS_DIR
#error "CINDER_RUNTIME_TESTS_DIR must name the RuntimeTests directory"
#endif

namespace {

bool
section_title(const std::string &line, std::string *title)
{
    if (line.size() < 8 || line.compare(0, 4, "--- ") != 0
        || line.compare(line.size() - 4, 4, " ---") != 0) {
        return false;
    }
    *title = line.substr(4, line.size() - 8);
    return true;
}

std::vector<std::string>
split_lines(const std::string &text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

// A unified-style diff of two texts: good enough to see what changed.
std::string
diff(const std::string &expected, const std::string &actual)
{
    std::vector<std::string> a = split_lines(expected), b = split_lines(actual);
    size_t n = a.size(), m = b.size();
    std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
    for (size_t i = n; i-- > 0;) {
        for (size_t j = m; j-- > 0;) {
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1
                                     : std::max(lcs[i + 1][j], lcs[i][j + 1]);
        }
    }
    std::string out;
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] == b[j]) {
            out += "  " + a[i] + "\n";
            i++;
            j++;
        }
        else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
            out += "+ " + b[j++] + "\n";
        }
        else {
            out += "- " + a[i++] + "\n";
        }
    }
    return out;
}

std::string
trim_trailing_newlines(std::string s)
{
    while (!s.empty() && s.back() == '\n') {
        s.pop_back();
    }
    return s;
}

}  // namespace

bool
ir_test_read(const std::string &path, IrTestFile *file, std::string *error)
{
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return false;
    }
    file->path = path;
    std::string line, title, *body = nullptr;
    int lineno = 0;
    while (std::getline(in, line)) {
        lineno++;
        if (section_title(line, &title)) {
            if (title == "Test Suite") {
                body = &file->suite;
            }
            else if (title == "Passes") {
                body = &file->passes;
            }
            else if (title == "Test Name") {
                file->cases.emplace_back();
                body = &file->cases.back().name;
            }
            else if (title == "Input" && !file->cases.empty()) {
                body = &file->cases.back().input;
            }
            else if (title == "Expected" && !file->cases.empty()) {
                body = &file->cases.back().expected;
            }
            else {
                *error = path + ":" + std::to_string(lineno) + ": unexpected section '"
                         + title + "'";
                return false;
            }
            continue;
        }
        if (body == nullptr) {
            *error = path + ":" + std::to_string(lineno) + ": text before the first section";
            return false;
        }
        *body += line + "\n";
    }
    file->suite = trim_trailing_newlines(file->suite);
    file->passes = trim_trailing_newlines(file->passes);
    for (IrTestCase &c : file->cases) {
        c.name = trim_trailing_newlines(c.name);
        c.expected = trim_trailing_newlines(c.expected);
    }
    return true;
}

void
ir_test_run(const IrTestFile &file,
            const std::function<std::string(const std::string &, const std::string &)> &run)
{
    const char *bless_env = std::getenv("CINDER_TEST_BLESS");
    bool bless = bless_env != nullptr && std::string(bless_env) == "1";
    std::vector<std::string> actuals;
    for (const IrTestCase &c : file.cases) {
        std::string actual = trim_trailing_newlines(run(file.passes, c.input));
        actuals.push_back(actual);
        if (!bless && actual != c.expected) {
            ADD_FAILURE() << file.path << ": case '" << c.name << "' (suite " << file.suite
                          << ") differs; - expected, + actual:\n"
                          << diff(c.expected, actual)
                          << "Run with CINDER_TEST_BLESS=1 to accept the actual output.";
        }
    }
    if (!bless) {
        return;
    }
    std::ofstream out(file.path);
    out << "--- Test Suite ---\n" << file.suite << "\n--- Passes ---\n" << file.passes << "\n";
    for (size_t i = 0; i < file.cases.size(); i++) {
        const IrTestCase &c = file.cases[i];
        out << "--- Test Name ---\n" << c.name << "\n--- Input ---\n" << c.input
            << "--- Expected ---\n" << actuals[i] << "\n";
    }
}

std::vector<std::string>
ir_test_files(const std::string &subdir)
{
    std::string dir = std::string(CINDER_RUNTIME_TESTS_DIR) + "/" + subdir;
    std::vector<std::string> files;
    if (DIR *d = opendir(dir.c_str())) {
        while (struct dirent *e = readdir(d)) {
            std::string name = e->d_name;
            if (name.size() > 4 && name.compare(name.size() - 4, 4, ".txt") == 0) {
                files.push_back(dir + "/" + name);
            }
        }
        closedir(d);
    }
    std::sort(files.begin(), files.end());
    return files;
}
