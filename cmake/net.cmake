# cmake/net.cmake: build rules of the real-network part (issue 4): the TUN link, the blocking
# API, pcap, `synack serve` / `synack connect`. Included by the top CMakeLists.txt after the
# library, the tool and the unit tests are defined.
#
#   examples/*.c          one executable each (example_<name>), run by a test of that name
#   tests/test_blocking.c and the other unit tests of this part: linked with Threads
#   tests/interop/cli.sh  the serve/connect command line (label "net"; no privilege needed)
#   tests/interop/*.sh    the interop suite (label "interop"): synack on a TUN device in a
#                         network namespace against the Linux kernel. Needs root; without it
#                         each test exits 77 and ctest reports it as skipped (CI fails on a
#                         skip). Run: ctest --test-dir build -L interop --output-on-failure

find_package(Threads REQUIRED)

# The blocking API (src/api/blocking*.c) uses POSIX threads: whoever links the library needs
# them (glibc 2.34 and later has them in libc; older systems need -pthread).
foreach(net_target test_blocking synack)
  if(TARGET ${net_target})
    target_link_libraries(${net_target} PRIVATE Threads::Threads)
  endif()
endforeach()

# Examples: small programs on the public API, each run as a test.
file(GLOB SYNACK_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/examples/*.c)
foreach(example_src ${SYNACK_EXAMPLES})
  get_filename_component(example_name ${example_src} NAME_WE)
  add_executable(example_${example_name} ${example_src})
  target_link_libraries(example_${example_name} PRIVATE synack_static Threads::Threads)
  add_test(NAME example_${example_name} COMMAND example_${example_name})
  set_tests_properties(example_${example_name} PROPERTIES LABELS examples TIMEOUT 120)
endforeach()

# The command line of serve/connect (no device is opened).
add_test(NAME net_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/interop/cli.sh
         $<TARGET_FILE:synack>)
set_tests_properties(net_cli PROPERTIES LABELS net TIMEOUT 60)

# The interop suite: every tests/interop/*.sh but the library and the command-line test.
file(GLOB SYNACK_INTEROP_SCRIPTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/interop/*.sh)
foreach(script ${SYNACK_INTEROP_SCRIPTS})
  get_filename_component(script_name ${script} NAME_WE)
  if(script_name STREQUAL "lib" OR script_name STREQUAL "cli")
    continue()
  endif()
  add_test(NAME interop_${script_name} COMMAND bash ${script} $<TARGET_FILE:synack>)
  # 77: the test cannot run here (not root, ...); it says why. Each test has its own network
  # namespace, but they move up to 100 MiB each: run them one at a time.
  set_tests_properties(interop_${script_name} PROPERTIES LABELS interop SKIP_RETURN_CODE 77
                       TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
