/* The perf map (-X jit-perfmap): /tmp/perf-PID.map, one line "START SIZE py::NAME" (hex)
   per compiled function, which `perf report` and `perf top` read to name samples in
   compiled code. A forked child starts its own map from a copy of its parent's, since the
   code compiled before the fork is in its address space too. Written with plain file
   descriptors, so that the copy can run in the child right after fork(). */

#include "Jit/perf_map.h"
#include "Jit/jit_options.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int pm_fd = -1;
static pid_t pm_pid;
static bool pm_atfork_registered;
static bool pm_failed;   /* the map could not be created: reported, not retried */

static void
pm_path(char *buf, size_t size, pid_t pid)
{
    snprintf(buf, size, "/tmp/perf-%ld.map", (long)pid);
}

static bool
pm_write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

/* In a forked child: its map is a copy of the parent's, then goes on on its own. Only
   async-signal-safe calls, but snprintf of the paths. */
static void
pm_after_fork_child(void)
{
    if (pm_fd < 0) {
        return;
    }
    char parent_path[64], path[64];
    pm_path(parent_path, sizeof parent_path, pm_pid);
    close(pm_fd);
    pm_pid = getpid();
    pm_path(path, sizeof path, pm_pid);
    pm_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    int in = open(parent_path, O_RDONLY | O_CLOEXEC);
    if (pm_fd >= 0 && in >= 0) {
        char buf[4096];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0 && pm_write_all(pm_fd, buf, (size_t)n)) {
        }
    }
    if (in >= 0) {
        close(in);
    }
}

void
ci_jit_perf_map_add(const void *start, size_t size, const char *name)
{
    if (pm_fd < 0) {
        if (pm_failed) {
            return;
        }
        if (!pm_atfork_registered) {
            pm_atfork_registered = pthread_atfork(NULL, NULL, pm_after_fork_child) == 0;
        }
        char path[64];
        pm_pid = getpid();
        pm_path(path, sizeof path, pm_pid);
        pm_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (pm_fd < 0) {
            fprintf(ci_jit_log(), "JIT: cannot write the perf map %s: %s\n", path,
                    strerror(errno));
            pm_failed = true;
            return;
        }
    }
    char line[600];
    int n = snprintf(line, sizeof line, "%lx %zx py::%s\n", (unsigned long)(uintptr_t)start,
                     size, name);
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        line[len - 1] = '\n';   /* a name too long for the line is cut */
        pm_write_all(pm_fd, line, len);
    }
}

void
ci_jit_perf_map_close(void)
{
    if (pm_fd >= 0) {
        close(pm_fd);
        pm_fd = -1;
    }
}
