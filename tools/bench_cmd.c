/*
 * bench_cmd.c: `synack bench` (see bench_cmd.h). The suite is a bash script in the source
 * tree (bench/run); this finds it and replaces the process with it, so its exit status,
 * usage and output are the command's.
 *
 * Where bench/run is looked for, in order: $SYNACK_SOURCE_DIR/bench/run; the source tree
 * this binary was built from (SYNACK_SOURCE_DIR, set by cmake/bench.cmake); next to the
 * binary's directory and its parent (build/synack in the source tree: ../bench/run).
 */
#define _DEFAULT_SOURCE /* readlink */

#include "bench_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNNER "bench/run"

/* Writes dir/RUNNER to out if that file exists; true if it does. */
static bool runner_in(const char *dir, char *out, size_t len)
{
    if (!dir || !*dir)
        return false;
    int n = snprintf(out, len, "%s/%s", dir, RUNNER);
    return n > 0 && (size_t)n < len && access(out, R_OK) == 0;
}

/* The directory of this executable (/proc/self/exe), or false. */
static bool exe_dir(char *out, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    if (n <= 0)
        return false;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return true;
}

static bool find_runner(char *out, size_t len)
{
    if (runner_in(getenv("SYNACK_SOURCE_DIR"), out, len))
        return true;
#ifdef SYNACK_SOURCE_DIR
    if (runner_in(SYNACK_SOURCE_DIR, out, len))
        return true;
#endif
    char dir[PATH_MAX], up[PATH_MAX + 4];
    if (!exe_dir(dir, sizeof dir))
        return false;
    snprintf(up, sizeof up, "%s/..", dir);
    return runner_in(dir, out, len) || runner_in(up, out, len);
}

int synack_cmd_bench(int argc, char **argv)
{
    char path[PATH_MAX + 16];
    if (!find_runner(path, sizeof path)) {
        fprintf(stderr, "synack: bench: cannot find %s: it is part of the source tree, not "
                        "installed; run synack from its build directory in the source tree, "
                        "or set SYNACK_SOURCE_DIR to the source tree\n", RUNNER);
        return 1;
    }
    /* bash PATH argv[2] ... NULL */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        fprintf(stderr, "synack: bench: out of memory\n");
        return 1;
    }
    args[0] = "bash";
    args[1] = path;
    for (int i = 2; i < argc; i++)
        args[i] = argv[i];
    execvp("bash", args);
    fprintf(stderr, "synack: bench: cannot run bash %s: %s\n", path, strerror(errno));
    free(args);
    return 1;
}
