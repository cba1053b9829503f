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

# `synack bench` finds bench/run in the source tree it was built from.
target_compile_definitions(synack PRIVATE SYNACK_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")

# The TUN workloads' quick forms (root; 77 = cannot run here, as the interop tests).
foreach(id W1b-k2s W1b-s2k W2tun-1k)
  add_test(NAME bench_${id} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/tun_bench.sh
           $<TARGET_FILE:synack> ${id} --quick)
  set_tests_properties(bench_${id} PROPERTIES LABELS "bench;interop" SKIP_RETURN_CODE 77
                       TIMEOUT 300 RUN_SERIAL TRUE)
endforeach()

# `synack bench` runs the runner (its --selftest) and rejects bad flags with status 2.
add_test(NAME bench_cli COMMAND sh -c
  "$<TARGET_FILE:synack> bench --selftest && { $<TARGET_FILE:synack> bench --bogus 2>/dev/null; test $? -eq 2; }")
set_tests_properties(bench_cli PROPERTIES LABELS bench TIMEOUT 60)
