# cmake -DNM=nm -DLIBRARY=lib.so -DEXPORT=symbol -P CheckExports.cmake
# Fails unless EXPORT is the only defined dynamic symbol of LIBRARY: used for the LAMMPS plugin
# (lammpsplugin_init) and for the CMake-package consumer's shared object, whose Rust library
# must stay hidden.
execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}"
  OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "nm -D --defined-only ${LIBRARY} failed (${_rc})")
endif()
string(REGEX MATCHALL "[^\n]+" _lines "${_out}")
set(_exported "")
foreach(_line IN LISTS _lines)
  # "<address> <type> <name>"; absolute (A) symbols are linker version tags, not code
  if(_line MATCHES "^[0-9a-fA-F]+ ([A-Za-z]) (.+)$" AND NOT CMAKE_MATCH_1 STREQUAL "A")
    list(APPEND _exported "${CMAKE_MATCH_2}")
  endif()
endforeach()
if(NOT _exported STREQUAL "${EXPORT}")
  message(FATAL_ERROR "${LIBRARY} must export only ${EXPORT}, it exports: ${_exported}")
endif()
message(STATUS "${LIBRARY} exports only ${EXPORT}")
