# cmake/bench_peers.cmake: the benchmark peers of issue 6, built when what they need is here.
#
#   bench/kernel_bench.c  the Linux kernel's TCP (Linux only); run through
#                         bench/kernel_netns.sh, which makes its network namespaces (root).
#   bench/lwip_bench.c    lwIP 2.1.3 from Debian's liblwip-dev (bench/install-peers.sh
#                         installs it); built only when its headers and library are found.
#                         W1b runs it on a TUN device: kernel_netns.sh --path tun (root).
#
# Tests (label "bench"): each peer's --quick form, a correctness run (bytes verified, every
# connection made and closed), never a timed one. The kernel ones need root for the network
# namespaces: without it they exit 77, which ctest reports as skipped (CI runs as root).

find_package(Threads REQUIRED)

if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_executable(kernel_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/kernel_bench.c)
  target_link_libraries(kernel_bench PRIVATE Threads::Threads)
  foreach(path loopback veth)
    set(offloads on)
    if(path STREQUAL "veth")
      set(offloads off) # the kernel's per-packet cost: TSO, GSO and GRO off
    endif()
    add_test(NAME bench_kernel_${path}_quick
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/kernel_netns.sh --path ${path}
                     --offload ${offloads} $<TARGET_FILE:kernel_bench> --quick)
    # Memory figures are machine-wide: run alone. 77: not root, or a tool is missing.
    set_tests_properties(bench_kernel_${path}_quick PROPERTIES LABELS bench TIMEOUT 300
                         SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
  endforeach()
endif()

find_path(LWIP_INCLUDE_DIR lwip/tcp.h PATH_SUFFIXES lwip)
find_library(LWIP_LIBRARY lwip)
if(LWIP_INCLUDE_DIR AND LWIP_LIBRARY AND EXISTS ${LWIP_INCLUDE_DIR}/lwipopts.h)
  add_executable(lwip_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench/lwip_bench.c)
  target_include_directories(lwip_bench SYSTEM PRIVATE ${LWIP_INCLUDE_DIR})
  target_link_libraries(lwip_bench PRIVATE ${LWIP_LIBRARY})
  target_link_libraries(lwip_bench PRIVATE Threads::Threads)
  add_test(NAME bench_lwip_quick COMMAND lwip_bench --quick)
  set_tests_properties(bench_lwip_quick PROPERTIES LABELS bench TIMEOUT 300)
  # W1b: lwIP on a TUN device in a namespace, the kernel's sockets as peer (root).
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    add_test(NAME bench_lwip_tun_quick
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/kernel_netns.sh --path tun
                     $<TARGET_FILE:lwip_bench> --quick)
    set_tests_properties(bench_lwip_tun_quick PROPERTIES LABELS bench TIMEOUT 300
                         SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
  endif()
else()
  message(STATUS "lwIP (liblwip-dev) not found: lwip_bench not built "
                 "(bench/install-peers.sh installs it)")
endif()
