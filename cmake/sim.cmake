# cmake/sim.cmake: the simulation tests of issue 3 (docs/simulation.md). Included by the top
# CMakeLists.txt (cmake/*.cmake) after the unit tests exist.
#
# test_sim (tests/test_sim.c, registered like every tests/test_*.c) links the bulk-transfer
# driver of the synack program (tools/bulk.c, tools/args.c) and compares against the recorded table
# tests/netsim.tsv in the source tree. Its grid does SYNACK_SIM_RUNS runs (default 4000).
if(TARGET test_sim)
  target_sources(test_sim PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tools/bulk.c
                                  ${CMAKE_CURRENT_SOURCE_DIR}/tools/args.c)
  target_include_directories(test_sim PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tools)
  target_compile_definitions(test_sim PRIVATE
    SYNACK_NETSIM_TSV="${CMAKE_CURRENT_SOURCE_DIR}/tests/netsim.tsv")
  set_tests_properties(test_sim PROPERTIES LABELS "sim")
endif()

# The soak: 10,000 grid runs (about a minute at -O2). Not part of the default suite, which
# must not skip tests; configure with -DSYNACK_SOAK=ON, then: ctest --test-dir BUILD -L soak
option(SYNACK_SOAK "Register the long simulation soak test (ctest -L soak)" OFF)
if(SYNACK_SOAK AND TARGET test_sim)
  add_test(NAME sim_soak COMMAND test_sim --runs 10000)
  set_tests_properties(sim_soak PROPERTIES LABELS "soak" TIMEOUT 3600)
endif()
