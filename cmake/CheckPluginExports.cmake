# cmake -DNM=nm -DPLUGIN=forecastplugin.so -P CheckPluginExports.cmake
# Fails unless lammpsplugin_init is the only defined dynamic symbol of the plugin.
execute_process(COMMAND "${NM}" -D --defined-only "${PLUGIN}"
  OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "nm -D --defined-only ${PLUGIN} failed (${_rc})")
endif()
string(REGEX MATCHALL "[^\n]+" _lines "${_out}")
set(_exported "")
foreach(_line IN LISTS _lines)
  # "<address> <type> <name>"; absolute (A) symbols are linker version tags, not code
  if(_line MATCHES "^[0-9a-fA-F]+ ([A-Za-z]) (.+)$" AND NOT CMAKE_MATCH_1 STREQUAL "A")
    list(APPEND _exported "${CMAKE_MATCH_2}")
  endif()
endforeach()
if(NOT _exported STREQUAL "lammpsplugin_init")
  message(FATAL_ERROR "${PLUGIN} must export only lammpsplugin_init, it exports: ${_exported}")
endif()
message(STATUS "${PLUGIN} exports only lammpsplugin_init")
