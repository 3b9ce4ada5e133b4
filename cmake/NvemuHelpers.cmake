# nvemu_add_library(NAME name SRCS ... DEPS ... [INTERNAL])
#   A static module library `nvemu_<name>` with alias `nvemu::<name>`.
#   Installed and exported as `nvemu::<name>` and linked into the umbrella target `nvemu::nvemu`
#   (see cmake/NvemuInstall.cmake), unless INTERNAL is given: INTERNAL libraries (test fakes,
#   app-only code) are build-tree only, so an installed library must not link one.
function(nvemu_add_library)
  cmake_parse_arguments(L "INTERNAL" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(nvemu_${L_NAME} STATIC ${L_SRCS})
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
