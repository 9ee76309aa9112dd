# The simforecast CMake package, in two flavours from one template:
#  - build tree: <build>/simforecastConfig.cmake points at cargo's two archives, the
#    source include/ directory and <build>/cxxbridge/include (consumers set
#    -Dsimforecast_DIR=<build>);
#  - install tree: `cmake --install` copies the library, the headers and the package to
#    <prefix>/lib, <prefix>/include (the cxx-generated C++ headers under
#    <prefix>/include/simforecast/cxxbridge, so that their rust/cxx.h cannot clash with another
#    package's) and <prefix>/lib/cmake/simforecast.
# The library is built by cargo, not by CMake, so there is no install(EXPORT): the
# config file declares the imported target itself.
include(CMakePackageConfigHelpers)

set(_sf_pkg_install_dir "${CMAKE_INSTALL_LIBDIR}/cmake/simforecast")

# build tree
set(SF_CFG_LIBRARY "${SIMFORECAST_STATIC_LIB}")
set(SF_CFG_CXX_LIBRARY "${SIMFORECAST_CXX_STATIC_LIB}")
set(SF_CFG_INCLUDEDIR "${SIMFORECAST_INCLUDE_DIR}")
set(SF_CFG_CXXBRIDGE_INCLUDEDIR "${SIMFORECAST_CXXBRIDGE_INCLUDE_DIR}")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/simforecastConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/simforecastConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_BINARY_DIR}"
  INSTALL_PREFIX "${CMAKE_BINARY_DIR}"
  PATH_VARS SF_CFG_LIBRARY SF_CFG_CXX_LIBRARY SF_CFG_INCLUDEDIR SF_CFG_CXXBRIDGE_INCLUDEDIR)

# install tree
set(SF_CFG_LIBRARY "${CMAKE_INSTALL_LIBDIR}/${CMAKE_STATIC_LIBRARY_PREFIX}simforecast${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(SF_CFG_CXX_LIBRARY "${CMAKE_INSTALL_LIBDIR}/${CMAKE_STATIC_LIBRARY_PREFIX}simforecast_cxx${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(SF_CFG_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
set(SF_CFG_CXXBRIDGE_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/simforecast/cxxbridge")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/simforecastConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/install-package/simforecastConfig.cmake"
  INSTALL_DESTINATION "${_sf_pkg_install_dir}"
  PATH_VARS SF_CFG_LIBRARY SF_CFG_CXX_LIBRARY SF_CFG_INCLUDEDIR SF_CFG_CXXBRIDGE_INCLUDEDIR)

# 0.x: a minor version bump may break the ABI
write_basic_package_version_file(
  "${CMAKE_BINARY_DIR}/simforecastConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)

install(FILES "${SIMFORECAST_STATIC_LIB}" "${SIMFORECAST_CXX_STATIC_LIB}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(FILES "${SIMFORECAST_INCLUDE_DIR}/simforecast.h" "${SIMFORECAST_INCLUDE_DIR}/simforecast_campaign.h" "${SIMFORECAST_INCLUDE_DIR}/simforecast.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${SIMFORECAST_CXXBRIDGE_INCLUDE_DIR}/"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/simforecast/cxxbridge")
install(FILES
  "${CMAKE_BINARY_DIR}/install-package/simforecastConfig.cmake"
  "${CMAKE_BINARY_DIR}/simforecastConfigVersion.cmake"
  DESTINATION "${_sf_pkg_install_dir}")
