/*
 * bench_cmd.h: `synack bench`, the benchmark suite of issue 6 (bench/run) from the command
 * line program.
 */
#ifndef SYNACK_TOOLS_BENCH_CMD_H
#define SYNACK_TOOLS_BENCH_CMD_H

/* `synack bench [bench/run options]`: runs bench/run with the given options (argv[1] is
 * "bench"). Does not return when the runner starts; returns 1 after saying why when it
 * cannot be found or started. */
int synack_cmd_bench(int argc, char **argv);

#endif /* SYNACK_TOOLS_BENCH_CMD_H */
