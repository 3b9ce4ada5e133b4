# nvemu_add_library(NAME name SRCS ... DEPS ... [INTERNAL])
#   A static module library `nvemu_<name>` (shared with NVEMU_SHARED_LIBS, see CMakeLists.txt) with
#   alias `nvemu::<name>`.
#   Installed and exported as `nvemu::<name>` and linked into the umbrella target `nvemu::nvemu`
#   (see cmake/NvemuInstall.cmake), unless INTERNAL is given: INTERNAL libraries (test fakes,
#   app-only code) are build-tree only, so an installed library must not link one.
function(nvemu_add_library)
  cmake_parse_arguments(L "INTERNAL" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(nvemu_${L_NAME} ${NVEMU_LIBRARY_TYPE} ${L_SRCS})
  add_library(nvemu::${L_NAME} ALIAS nvemu_${L_NAME})
  target_include_directories(nvemu_${L_NAME}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
           $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
           $<INSTALL_INTERFACE:include>)
  target_link_libraries(nvemu_${L_NAME} PUBLIC ${L_DEPS})
  set_target_properties(nvemu_${L_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${L_NAME})
  if(NOT L_INTERNAL)
    set_property(GLOBAL APPEND PROPERTY NVEMU_LIBRARIES nvemu_${L_NAME})
  endif()
endfunction()

# nvemu_add_test(file.cc DEPS ...): one GoogleTest binary per file, registered with CTest.
function(nvemu_add_test SRC)
  if(NOT NVEMU_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "DEPS;LABELS" ${ARGN})
  get_filename_component(name ${SRC} NAME_WE)
  add_executable(${name} ${SRC})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS "${T_LABELS}")
endfunction()

# nvemu_add_fuzzer(NAME name SRC file.cc SEEDS dir DEPS ... INSTRUMENT libs... LABELS ...): a
# libFuzzer binary `name` (only with NVEMU_BUILD_FUZZERS) registered as a CTest with labels "fuzz"
# and LABELS that runs for NVEMU_FUZZ_SECONDS over a scratch corpus in the build tree plus the
# committed seed directory SEEDS (relative to the current source dir; read only). INSTRUMENT:
# libraries that get coverage feedback (-fsanitize=fuzzer-no-link). A crash, sanitizer report,
# leak or an input running over 30 s fails the test.
function(nvemu_add_fuzzer)
  if(NOT NVEMU_BUILD_FUZZERS)
    return()
  endif()
  cmake_parse_arguments(F "" "NAME;SRC;SEEDS" "DEPS;INSTRUMENT;LABELS" ${ARGN})
  foreach(lib ${F_INSTRUMENT})
    get_target_property(flags ${lib} COMPILE_OPTIONS)
    if(NOT flags MATCHES "fuzzer-no-link")
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link)
    endif()
  endforeach()
  add_executable(${F_NAME} ${F_SRC})
  if(NOT TARGET nvemu_fuzzers)
    add_custom_target(nvemu_fuzzers)  # every fuzzer (the fuzz build preset builds this)
  endif()
  add_dependencies(nvemu_fuzzers ${F_NAME})
  target_link_libraries(${F_NAME} PRIVATE ${F_DEPS} Threads::Threads)
  target_compile_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
  target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
  set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/${F_SEEDS})
  set(corpus ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus-${F_NAME})
  file(MAKE_DIRECTORY ${corpus})
  math(EXPR timeout "${NVEMU_FUZZ_SECONDS} * 3 + 60")
  add_test(NAME ${F_NAME}
           COMMAND ${F_NAME} -max_total_time=${NVEMU_FUZZ_SECONDS} -timeout=30 -max_len=16384
                   -rss_limit_mb=2048 -print_final_stats=1 ${corpus} ${seeds})
  set_tests_properties(${F_NAME} PROPERTIES LABELS "fuzz;${F_LABELS}" TIMEOUT ${timeout})
endfunction()
