# Install rules and packaging for nvemu: the module libraries, the umbrella target, public headers,
# the CMake package (nvemuConfig.cmake, export set nvemuTargets, namespace nvemu::) and nvemu.pc.
#
# nvemu_install_package() must run after add_subdirectory(src): it reads the GLOBAL property
# NVEMU_LIBRARIES that nvemu_add_library() fills.
#
#   find_package(nvemu REQUIRED)           ->  nvemu::nvemu (everything), nvemu::<module> (one module)
#   pkg-config --cflags --static --libs nvemu

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(NVEMU_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/nvemu" CACHE STRING
    "Where nvemuConfig.cmake is installed (relative to the prefix)")

# "$<LINK_ONLY:nvemu::core>" / "nvemu::core" / "nvemu_core" -> "nvemu_core"; anything that is not a
# target (a flag, a path, a plain library name) comes back unchanged with IS_TARGET false.
function(_nvemu_resolve_link_item item out_name out_is_target)
  if(item MATCHES "^\\$<LINK_ONLY:(.+)>$")
    set(item "${CMAKE_MATCH_1}")
  endif()
  set(is_target FALSE)
  if(NOT item MATCHES "[$<>;]" AND TARGET "${item}")
    set(is_target TRUE)
    get_target_property(aliased "${item}" ALIASED_TARGET)
    if(aliased)
      set(item "${aliased}")
    endif()
  endif()
  set(${out_name} "${item}" PARENT_SCOPE)
  set(${out_is_target} ${is_target} PARENT_SCOPE)
endfunction()

# All link items of a target: direct (LINK_LIBRARIES) and usage requirements (INTERFACE_...).
function(_nvemu_link_items target out)
  set(items)
  foreach(prop LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(v ${target} ${prop})
    if(v)
      list(APPEND items ${v})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES items)
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

# Depth-first post-order over the module libraries: dependencies are appended before dependents.
function(_nvemu_topo_visit lib)
  get_property(state GLOBAL PROPERTY _NVEMU_TOPO_STATE_${lib})
  if(state STREQUAL "done")
    return()
  elseif(state STREQUAL "active")
    message(WARNING "nvemu: link cycle through ${lib}; static link order may be wrong")
    return()
  endif()
  set_property(GLOBAL PROPERTY _NVEMU_TOPO_STATE_${lib} active)
  _nvemu_link_items(${lib} items)
  foreach(item IN LISTS items)
    _nvemu_resolve_link_item("${item}" dep is_target)
    if(is_target AND dep IN_LIST _nvemu_all_libs)
      _nvemu_topo_visit(${dep})
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY _NVEMU_TOPO_STATE_${lib} done)
  set_property(GLOBAL APPEND PROPERTY _NVEMU_TOPO_ORDER ${lib})
endfunction()

# nvemu_library_link_order(<out>): the installed module libraries in static link order (each library
# before the libraries it depends on), e.g. nvemu_host;nvemu_pcie;...;nvemu_spec.
function(nvemu_library_link_order out)
  get_property(_nvemu_all_libs GLOBAL PROPERTY NVEMU_LIBRARIES)
  set_property(GLOBAL PROPERTY _NVEMU_TOPO_ORDER "")
  foreach(lib IN LISTS _nvemu_all_libs)
    set_property(GLOBAL PROPERTY _NVEMU_TOPO_STATE_${lib} "")
  endforeach()
  foreach(lib IN LISTS _nvemu_all_libs)
    _nvemu_topo_visit(${lib})
  endforeach()
  get_property(order GLOBAL PROPERTY _NVEMU_TOPO_ORDER)
  list(REVERSE order)
  set(${out} "${order}" PARENT_SCOPE)
endfunction()

# What the installed libraries need from outside nvemu, as find_dependency() code for nvemuConfig.cmake
# and Requires.private / Libs.private for nvemu.pc. Threads, fmt and spdlog are always required.
function(_nvemu_external_deps libs out_cmake out_pc_requires out_pc_libs)
  set(cmake_code
      "find_dependency(Threads)\nfind_dependency(fmt)\nfind_dependency(spdlog)\n")
  set(pc_requires fmt spdlog)
  set(pc_libs -pthread)
  set(seen Threads::Threads fmt::fmt spdlog::spdlog)
  foreach(lib IN LISTS libs)
    _nvemu_link_items(${lib} items)
    foreach(item IN LISTS items)
      _nvemu_resolve_link_item("${item}" dep is_target)
      if(dep IN_LIST seen OR dep IN_LIST libs)
        continue()
      endif()
      list(APPEND seen "${dep}")
      if(dep MATCHES "^(fmt::fmt-header-only|spdlog::spdlog_header_only)$")
        # Covered by find_dependency(fmt/spdlog) above.
      elseif(dep MATCHES "^PkgConfig::(.+)$")
        # pkg_check_modules(<PREFIX> IMPORTED_TARGET <module>): recreate the target for consumers.
        set(prefix "${CMAKE_MATCH_1}")
        string(TOLOWER "${prefix}" module)
        if(NOT module MATCHES "^lib")
          set(module "lib${module}")  # URING -> liburing, NVME -> libnvme
        endif()
        string(APPEND cmake_code
               "find_dependency(PkgConfig)\n"
               "if(NOT TARGET PkgConfig::${prefix})\n"
               "  pkg_check_modules(${prefix} REQUIRED IMPORTED_TARGET ${module})\n"
               "endif()\n")
        list(APPEND pc_requires ${module})
      elseif(dep MATCHES "^tomlplusplus::")
        string(APPEND cmake_code "find_dependency(tomlplusplus)\n")
        list(APPEND pc_requires tomlplusplus)
      elseif(dep MATCHES "^nlohmann_json::")
        string(APPEND cmake_code "find_dependency(nlohmann_json)\n")
        list(APPEND pc_requires nlohmann_json)
      elseif(dep MATCHES "^CLI11::")
        string(APPEND cmake_code "find_dependency(CLI11)\n")
      elseif(dep MATCHES "^benchmark::")
        string(APPEND cmake_code "find_dependency(benchmark)\n")
        list(APPEND pc_requires benchmark)
      elseif(dep MATCHES "^GTest::")
        message(WARNING "nvemu: installed library links ${dep}; mark test-only libraries INTERNAL")
        string(APPEND cmake_code "find_dependency(GTest)\n")
      elseif(is_target)
        message(WARNING "nvemu: installed libraries link ${dep}; teach cmake/NvemuInstall.cmake "
                        "how consumers find it")
      elseif(dep MATCHES "^-")
        list(APPEND pc_libs "${dep}")  # a linker flag
      elseif(IS_ABSOLUTE "${dep}")
        list(APPEND pc_libs "${dep}")
      elseif(NOT dep MATCHES "[$<>]")
        list(APPEND pc_libs "-l${dep}")  # plain library name, e.g. uring
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES pc_requires)
  list(REMOVE_DUPLICATES pc_libs)
  list(JOIN pc_requires ", " pc_requires)
  list(JOIN pc_libs " " pc_libs)
  set(${out_cmake} "${cmake_code}" PARENT_SCOPE)
  set(${out_pc_requires} "${pc_requires}" PARENT_SCOPE)
  set(${out_pc_libs} "${pc_libs}" PARENT_SCOPE)
endfunction()

function(nvemu_install_package)
  nvemu_library_link_order(libs)
  if(NOT libs)
    message(WARNING "nvemu: no module libraries registered; installing headers only")
  endif()

  # Umbrella target: every module library, in link order, plus what they all need.
  add_library(nvemu_all INTERFACE)
  add_library(nvemu::nvemu ALIAS nvemu_all)
  set_target_properties(nvemu_all PROPERTIES EXPORT_NAME nvemu)
  target_include_directories(nvemu_all INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(nvemu_all INTERFACE ${libs} spdlog::spdlog fmt::fmt Threads::Threads)
  target_compile_features(nvemu_all INTERFACE cxx_std_20)

  install(TARGETS ${libs} nvemu_all
          EXPORT nvemuTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/nvemu
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.h")
  install(EXPORT nvemuTargets
          NAMESPACE nvemu::
          FILE nvemuTargets.cmake
          DESTINATION ${NVEMU_INSTALL_CMAKEDIR})

  _nvemu_external_deps("${libs}" NVEMU_FIND_DEPENDENCIES NVEMU_PC_REQUIRES_PRIVATE NVEMU_PC_LIBS_PRIVATE)
  set(gen "${PROJECT_BINARY_DIR}/nvemu-package")
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nvemuConfig.cmake.in
                                ${gen}/nvemuConfig.cmake
                                INSTALL_DESTINATION ${NVEMU_INSTALL_CMAKEDIR})
  # 0.x: minor versions may break the API.
  write_basic_package_version_file(${gen}/nvemuConfigVersion.cmake
                                   VERSION ${PROJECT_VERSION}
                                   COMPATIBILITY SameMinorVersion)
  install(FILES ${gen}/nvemuConfig.cmake ${gen}/nvemuConfigVersion.cmake
          DESTINATION ${NVEMU_INSTALL_CMAKEDIR})

  # pkg-config: relocatable (prefix derived from the .pc file's own location), so
  # `cmake --install --prefix <anywhere>` yields a working file.
  set(pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(NVEMU_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(NVEMU_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
    set(NVEMU_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
    set(pc_dir "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig")
  else()
    file(RELATIVE_PATH up "/prefix/${pc_dir}" "/prefix")
    string(REGEX REPLACE "/$" "" up "${up}")
    set(NVEMU_PC_PREFIX "\${pcfiledir}/${up}")
    set(NVEMU_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
    set(NVEMU_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  endif()
  set(NVEMU_PC_LIBS "")
  foreach(lib IN LISTS libs)
    string(APPEND NVEMU_PC_LIBS " -l$<TARGET_FILE_BASE_NAME:${lib}>")
  endforeach()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/nvemu.pc.in ${gen}/nvemu.pc.in @ONLY)
  file(GENERATE OUTPUT ${gen}/nvemu.pc INPUT ${gen}/nvemu.pc.in)
  install(FILES ${gen}/nvemu.pc DESTINATION ${pc_dir})

  # The CLI (src/app: target nvemu_app, OUTPUT_NAME nvemu), when it is built.
  if(TARGET nvemu_app)
    install(TARGETS nvemu_app RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()

  list(JOIN libs " " libs_text)
  message(STATUS "nvemu: install exports nvemu::nvemu over: ${libs_text}")
endfunction()
