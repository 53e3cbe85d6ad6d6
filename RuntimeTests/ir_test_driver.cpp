// The IR golden-file driver: reading, writing and diffing the sectioned test files, and
// registering one googletest test per case (see ir_test_driver.h for the format).

#include "ir_test_driver.h"

#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace {

const char kBlessVar[] = "CINDER_TEST_BLESS";

std::vector<std::string>
split_lines(const std::string &text)
{
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

std::string
trim_trailing(const std::string &s)
{
    size_t end = s.find_last_not_of(" \t\r\n");
    return end == std::string::npos ? "" : s.substr(0, end + 1);
}

std::string
trim(const std::string &s)
{
    size_t start = s.find_first_not_of(" \t\r\n");
    return start == std::string::npos ? "" : trim_trailing(s.substr(start));
}

bool
read_text(const std::string &path, std::string *text)
{
    std::ifstream in(path);
    if (!in) {
        return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    *text = ss.str();
    return true;
}

}  // namespace

bool
ir_test_parse(const std::string &text, const std::string &path, IrTestFile *out,
              std::string *err)
{
    std::vector<std::string> sections;
    std::vector<int> starts;
    std::string cur;
    int lineno = 0, start = 1;
    for (const std::string &line : split_lines(text)) {
        lineno++;
        if (trim_trailing(line) == "---") {
            sections.push_back(cur);
            starts.push_back(start);
            cur.clear();
            start = lineno + 1;
        }
        else {
            cur += line + "\n";
        }
    }
    if (!trim(cur).empty()) {
        sections.push_back(cur);
        starts.push_back(start);
    }
    out->path = path;
    if (sections.size() < 2) {
        *err = path + ": needs a suite name and a passes section";
        return false;
    }
    out->suite = trim(sections[0]);
    out->passes.clear();
    for (const std::string &p : split_lines(sections[1])) {
        if (!trim(p).empty()) {
            out->passes.push_back(trim(p));
        }
    }
    out->cases.clear();
    for (size_t k = 2; k < sections.size(); k += 3) {
        if (k + 1 >= sections.size()) {
            *err = path + ":" + std::to_string(starts[k]) + ": case without input";
            return false;
        }
        IrTestCase c;
        c.name = trim(sections[k]);
        c.line = starts[k];
        c.input = sections[k + 1];
        c.expected = k + 2 < sections.size() ? sections[k + 2] : "";
        if (c.name.empty()) {
            *err = path + ":" + std::to_string(starts[k]) + ": empty case name";
            return false;
        }
        out->cases.push_back(c);
    }
    return true;
}

std::string
ir_test_format(const IrTestFile &file)
{
    std::string s = file.suite + "\n---\n";
    for (const std::string &p : file.passes) {
        s += p + "\n";
    }
    s += "---\n";
    for (const IrTestCase &c : file.cases) {
        s += c.name + "\n---\n" + trim_trailing(c.input) + "\n---\n" +
             trim_trailing(c.expected) + "\n---\n";
    }
    return s;
}

bool
ir_test_read_file(const std::string &path, IrTestFile *out, std::string *err)
{
    std::string text;
    if (!read_text(path, &text)) {
        *err = "cannot read " + path;
        return false;
    }
    return ir_test_parse(text, path, out, err);
}

std::string
ir_test_diff(const std::string &expected, const std::string &actual)
{
    std::vector<std::string> a = split_lines(trim_trailing(expected));
    std::vector<std::string> b = split_lines(trim_trailing(actual));
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
            i++, j++;
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
ir_test_source_dir()
{
    const char *env = getenv("CINDER_TEST_DIR");
    if (env != nullptr && *env != '\0') {
        return env;
    }
    std::string here = __FILE__;
    size_t slash = here.rfind('/');
    return slash == std::string::npos ? "." : here.substr(0, slash);
}

void
ir_test_run_case(const std::string &path, const std::string &case_name,
                 const IrTestRunner &runner)
{
    IrTestFile file;
    std::string err;
    ASSERT_TRUE(ir_test_read_file(path, &file, &err)) << err;
    auto it = std::find_if(file.cases.begin(), file.cases.end(),
                           [&](const IrTestCase &c) { return c.name == case_name; });
    ASSERT_TRUE(it != file.cases.end()) << "no case " << case_name << " in " << path;
    std::string output;
    bool ok = runner(file.passes, it->input, &output);
    if (!ok) {
        output = "ERROR: " + output;
    }
    if (trim_trailing(output) == trim_trailing(it->expected)) {
        return;
    }
    const char *bless = getenv(kBlessVar);
    if (bless != nullptr && strcmp(bless, "1") == 0) {
        it->expected = output;
        std::ofstream outf(path);
        outf << ir_test_format(file);
        ASSERT_TRUE(outf.good()) << "cannot rewrite " << path;
        return;
    }
    ADD_FAILURE_AT(path.c_str(), it->line)
        << file.suite << "." << case_name << ": output differs from the expected text "
        << "(- expected, + actual); run with " << kBlessVar
        << "=1 to accept the new output.\n"
        << ir_test_diff(it->expected, output);
}

namespace {

class IrCaseTest : public testing::Test {
  public:
    IrCaseTest(std::string path, std::string name, IrTestRunner runner)
        : path_(std::move(path)), name_(std::move(name)), runner_(std::move(runner)) {}
    void TestBody() override { ir_test_run_case(path_, name_, runner_); }

  private:
    std::string path_, name_;
    IrTestRunner runner_;
};

}  // namespace

int
ir_test_register_dir(const std::string &subdir, IrTestRunner runner)
{
    std::string dir = ir_test_source_dir() + "/" + subdir;
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (struct dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 4 && n.compare(n.size() - 4, 4, ".txt") == 0) {
                names.push_back(n);
            }
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    int count = 0;
    for (const std::string &n : names) {
        std::string path = dir + "/" + n;
        IrTestFile file;
        std::string err;
        if (!ir_test_read_file(path, &file, &err)) {
            testing::RegisterTest("IrTestFiles", n.c_str(), nullptr, nullptr, path.c_str(),
                                  1, [err]() -> testing::Test * {
                                      struct Bad : testing::Test {
                                          std::string e;
                                          void TestBody() override { FAIL() << e; }
                                      };
                                      Bad *b = new Bad();
                                      b->e = err;
                                      return b;
                                  });
            continue;
        }
        for (const IrTestCase &c : file.cases) {
            testing::RegisterTest(file.suite.c_str(), c.name.c_str(), nullptr, nullptr,
                                  path.c_str(), c.line,
                                  [path, c, runner]() -> testing::Test * {
                                      return new IrCaseTest(path, c.name, runner);
                                  });
            count++;
        }
    }
    return count;
}
