# cmake/bench.cmake: the benchmark suite of issue 6 (BENCHMARKS.md, "Benchmark suite").
# Included by the top CMakeLists.txt (cmake/*.cmake).
#
#   bench/synack_bench.c   synack_bench: one workload on synack per run (RESULT lines)
#   bench/run              the runner (peers, build, 5 runs, medians, Markdown table)
#
# Tests (label "bench"): the --quick form of every synack workload, checked for correctness
# only (bytes verified, connections closed, counters back at zero: the exit status), and the
# runner's statistics on fixed RESULT lines. No figure is asserted.

add_executable(synack_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/synack_bench.c)
target_link_libraries(synack_bench PRIVATE synack_static)

set(SYNACK_BENCH_QUICK
  "W1a"
  "W2 --conns 1000"
  "W3 --conns 1000"
  "W3 --tw 1000"
  "W4"
  "W5 --others 10"
  "W5 --others 1000")
foreach(args ${SYNACK_BENCH_QUICK})
  string(REPLACE " --" "_" name "${args}")
  string(REPLACE " " "_" name "${name}")
  separate_arguments(argv UNIX_COMMAND "${args}")
  add_test(NAME bench_${name} COMMAND synack_bench ${argv} --quick)
  set_tests_properties(bench_${name} PROPERTIES LABELS bench TIMEOUT 120)
endforeach()

add_test(NAME bench_runner_selftest COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/run --selftest)
set_tests_properties(bench_runner_selftest PROPERTIES LABELS bench TIMEOUT 60)
