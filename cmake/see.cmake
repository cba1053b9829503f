# see.cmake: tests of issue 5 ("see TCP work"): the scenario library, the renderers, the
# golden ladders and the RFC 9293 figure texts. Included by CMakeLists.txt (cmake/*.cmake).

# The RFC 9293 figures' text against the figure scenarios' ladders. It links the scenario
# library of the synack program (tools/scenarios.c), so it is not one of the tests/test_*.c.
add_executable(figure_text tests/figures.c tools/scenarios.c)
target_link_libraries(figure_text PRIVATE synack_static)
target_include_directories(figure_text PRIVATE tests tools)
add_test(NAME figure_text COMMAND figure_text)

# Every scenario: exit status, golden ladder (tests/golden/), SVG (xmllint, rsvg-convert),
# JSON lines (jq), pcap (tshark). Missing tools fail under CI=true and are skipped (with a
# message) otherwise.
add_test(NAME scenarios
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/scenarios.sh $<TARGET_FILE:synack>
                 ${CMAKE_CURRENT_SOURCE_DIR}/tests/golden)
set_tests_properties(scenarios PROPERTIES TIMEOUT 600)
