// Tests of the JIT's option parser (Jit/jit_options.c) and JIT-list parser (Jit/jit_list.c).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "Python.h"
#include "Jit/jit_list.h"
#include "Jit/jit_options.h"

namespace {

struct ListFixture : ::testing::Test {
    CiJitList *list = ci_jit_list_new();
    char err[512] = "";
    ~ListFixture() override { ci_jit_list_free(list); }

    int add(const char *line, int lineno = 1)
    {
        return ci_jit_list_add_line(list, line, "list.txt", lineno, err, sizeof(err));
    }
};

// Parses xoptions given as narrow strings.
struct Options {
    CiJitOptions opts{};
    char err[512] = "";
    ~Options() { ci_jit_options_clear(&opts); }

    int parse(std::initializer_list<const wchar_t *> items, int use_env = 0)
    {
        PyWideStringList list = {0, nullptr};
        for (const wchar_t *item : items) {
            EXPECT_FALSE(PyStatus_Exception(PyWideStringList_Append(&list, item)));
        }
        int r = ci_jit_options_parse(&opts, &list, use_env, err, sizeof(err));
        for (Py_ssize_t i = 0; i < list.length; i++) {
            PyMem_RawFree(list.items[i]);
        }
        PyMem_RawFree(list.items);
        return r;
    }
};

std::string
write_temp(const std::string &text)
{
    char path[] = "/tmp/jitlistXXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, text.data(), text.size()), (ssize_t)text.size());
    close(fd);
    return path;
}

}  // namespace

// --- JIT list -------------------------------------------------------------------------

TEST_F(ListFixture, AcceptsEntriesCommentsAndBlankLines)
{
    EXPECT_EQ(add("pkg.mod:func"), 0) << err;
    EXPECT_EQ(add("  pkg.mod:Class.method  \n"), 0) << err;
    EXPECT_EQ(add("mod:outer.<locals>.inner # trailing comment"), 0) << err;
    EXPECT_EQ(add("__main__:<lambda>\r\n"), 0) << err;
    EXPECT_EQ(add("# a comment"), 0) << err;
    EXPECT_EQ(add("   "), 0) << err;
    EXPECT_EQ(add(""), 0) << err;
    EXPECT_EQ(ci_jit_list_size(list), 4);

    EXPECT_TRUE(ci_jit_list_contains(list, "pkg.mod", "func"));
    EXPECT_TRUE(ci_jit_list_contains(list, "pkg.mod", "Class.method"));
    EXPECT_TRUE(ci_jit_list_contains(list, "mod", "outer.<locals>.inner"));
    EXPECT_TRUE(ci_jit_list_contains(list, "__main__", "<lambda>"));
    EXPECT_FALSE(ci_jit_list_contains(list, "pkg.mod", "Class"));
    EXPECT_FALSE(ci_jit_list_contains(list, "pkg", "mod:func"));
    EXPECT_FALSE(ci_jit_list_contains(list, "pkg.mo", "func"));
    EXPECT_FALSE(ci_jit_list_contains(list, "other", "func"));
}

TEST_F(ListFixture, RejectsMalformedLinesNamingFileAndLine)
{
    const char *bad[] = {"nocolon", "mod:", ":func", "a b:c", "mod:f:g", "mod..x:f",
                         "mod:f.", ".mod:f", "1mod:f", "mod:<locals", "mod:f()"};
    for (const char *line : bad) {
        err[0] = '\0';
        EXPECT_EQ(add(line, 7), -1) << line;
        std::string msg = err;
        EXPECT_EQ(msg.rfind("list.txt:7: ", 0), 0u) << msg;
        EXPECT_NE(msg.find(std::string("'") + line + "'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("module:qualname"), std::string::npos) << msg;
    }
    EXPECT_EQ(ci_jit_list_size(list), 0);
}

TEST(JitList, LoadsAFile)
{
    std::string path = write_temp("# hot functions\n\na.b:f\nc:K.m\n");
    char err[512] = "";
    CiJitList *list = ci_jit_list_load(path.c_str(), err, sizeof(err));
    ASSERT_NE(list, nullptr) << err;
    EXPECT_TRUE(ci_jit_list_contains(list, "a.b", "f"));
    EXPECT_TRUE(ci_jit_list_contains(list, "c", "K.m"));
    ci_jit_list_free(list);
    unlink(path.c_str());
}

TEST(JitList, ReportsTheBadLineOfAFile)
{
    std::string path = write_temp("a:f\n# ok\nnot an entry\n");
    char err[512] = "";
    EXPECT_EQ(ci_jit_list_load(path.c_str(), err, sizeof(err)), nullptr);
    EXPECT_EQ(std::string(err).rfind(path + ":3: ", 0), 0u) << err;
    unlink(path.c_str());
}

TEST(JitList, ReportsAnUnreadableFile)
{
    char err[512] = "";
    EXPECT_EQ(ci_jit_list_load("/nonexistent/jit.list", err, sizeof(err)), nullptr);
    std::string msg = err;
    EXPECT_NE(msg.find("/nonexistent/jit.list"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

// --- Options --------------------------------------------------------------------------

TEST(JitOptions, ParsesXOptions)
{
    Options o;
    ASSERT_EQ(o.parse({L"jit", L"jit-dump-lir", L"jit-auto=5", L"jit-log-file=/tmp/x",
                       L"dev", L"jitter=1"}),
              0)
        << o.err;
    EXPECT_EQ(o.opts.enabled, 1);
    EXPECT_EQ(o.opts.dump_lir, 1);
    EXPECT_EQ(o.opts.dump_hir, 0);
    EXPECT_EQ(o.opts.auto_threshold, 5ul);
    EXPECT_STREQ(o.opts.log_file, "/tmp/x");
    EXPECT_EQ(o.opts.list_file, nullptr);
}

TEST(JitOptions, ListAndAutoImplyJit)
{
    Options a;
    ASSERT_EQ(a.parse({L"jit-list-file=/tmp/l"}), 0) << a.err;
    EXPECT_EQ(a.opts.enabled, 1);
    EXPECT_STREQ(a.opts.list_file, "/tmp/l");
    Options b;
    ASSERT_EQ(b.parse({L"jit-auto=2"}), 0) << b.err;
    EXPECT_EQ(b.opts.enabled, 1);
    Options c;
    ASSERT_EQ(c.parse({L"jit-dump-hir"}), 0) << c.err;
    EXPECT_EQ(c.opts.enabled, 0);
}

TEST(JitOptions, FlagsTakeZeroOrOne)
{
    Options a;
    ASSERT_EQ(a.parse({L"jit=0"}), 0) << a.err;
    EXPECT_EQ(a.opts.enabled, 0);
    Options b;
    EXPECT_EQ(b.parse({L"jit=yes"}), -1);
    EXPECT_STREQ(b.err, "-X jit=yes: invalid value, expected 0 or 1");
}

TEST(JitOptions, RejectsBadValues)
{
    const wchar_t *bad[] = {L"jit-auto=abc", L"jit-auto=", L"jit-auto", L"jit-auto=0",
                            L"jit-auto=-3", L"jit-auto=5x",
                            L"jit-auto=99999999999999999999999"};
    for (const wchar_t *item : bad) {
        Options o;
        EXPECT_EQ(o.parse({item}), -1);
        std::string msg = o.err;
        EXPECT_EQ(msg.rfind("-X jit-auto", 0), 0u) << msg;
        EXPECT_NE(msg.find("positive integer"), std::string::npos) << msg;
        EXPECT_EQ(o.opts.enabled, 0);
    }
    Options p;
    EXPECT_EQ(p.parse({L"jit-list-file"}), -1);
    EXPECT_STREQ(p.err, "-X jit-list-file needs a value (-X jit-list-file=PATH)");
}

TEST(JitOptions, RejectsUnknownJitOptions)
{
    Options o;
    EXPECT_EQ(o.parse({L"jit-dump-everything"}), -1);
    EXPECT_STREQ(o.err,
                 "unknown JIT option -X jit-dump-everything (-X jit-help lists them)");
}

TEST(JitOptions, ReadsTheEnvironmentUnlessTold)
{
    setenv("PYTHONJITLISTFILE", "/tmp/env.list", 1);
    setenv("PYTHONJITDUMPASM", "1", 1);
    Options a;
    ASSERT_EQ(a.parse({}, 1), 0) << a.err;
    EXPECT_STREQ(a.opts.list_file, "/tmp/env.list");
    EXPECT_EQ(a.opts.dump_asm, 1);
    EXPECT_EQ(a.opts.enabled, 1);
    Options b;  // -X wins
    ASSERT_EQ(b.parse({L"jit-list-file=/tmp/x.list", L"jit-dump-asm=0"}, 1), 0) << b.err;
    EXPECT_STREQ(b.opts.list_file, "/tmp/x.list");
    EXPECT_EQ(b.opts.dump_asm, 0);
    Options c;  // -E
    ASSERT_EQ(c.parse({}, 0), 0) << c.err;
    EXPECT_EQ(c.opts.list_file, nullptr);
    EXPECT_EQ(c.opts.enabled, 0);
    setenv("PYTHONJITAUTO", "many", 1);
    Options d;
    EXPECT_EQ(d.parse({}, 1), -1);
    EXPECT_EQ(std::string(d.err).rfind("PYTHONJITAUTO=many: ", 0), 0u) << d.err;
    unsetenv("PYTHONJITLISTFILE");
    unsetenv("PYTHONJITDUMPASM");
    unsetenv("PYTHONJITAUTO");
}

TEST(JitOptions, HelpListsEveryOption)
{
    char *buf = nullptr;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    ASSERT_NE(out, nullptr);
    ci_jit_options_print_help(out);
    fclose(out);
    std::string help(buf, size);
    free(buf);
#define CI_JIT_OPTION(KIND, XNAME, ENVVAR, FIELD, ARG, HELP)                      \
    EXPECT_NE(help.find(std::string("-X ") + XNAME), std::string::npos) << XNAME; \
    EXPECT_NE(help.find(HELP), std::string::npos) << XNAME;                       \
    {                                                                             \
        const char *env = ENVVAR;                                                 \
        EXPECT_TRUE(env == nullptr || help.find(env) != std::string::npos) << XNAME; \
    }
#include "Jit/jit_options.def"
#undef CI_JIT_OPTION
}
