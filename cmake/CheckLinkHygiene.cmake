# What a binary or static library links, checked from its symbols and its NEEDED entries:
#
#   cmake -DNM=nm -DREADELF=readelf -DFILE=<archive, shared object or executable>
#         [-DHAVE=<regex;...>]         each must match the demangled symbols (`nm -C`)
#         [-DNOT_HAVE=<regex;...>]     none may match the demangled symbols
#         [-DNOT_HAVE_RAW=<regex;...>] none may match the raw symbols (`nm`)
#         [-DNEEDED=<regex;...>]       each must match a NEEDED entry (`readelf -d`)
#         [-DNOT_NEEDED=<regex;...>]   none may match a NEEDED entry
#         -P CheckLinkHygiene.cmake
#
# Used by tests/cmake to show that the C library, the LAMMPS plugin and the C example carry no
# training code and no C++ (and that the same checks do find them where they belong: the CLI,
# the C++ example). A symbol line of `nm` is "<address> <type> <name>" or "<type> <name>" for
# undefined ones, so a pattern can match " U name" for a reference to a symbol defined elsewhere.
# A HAVE pattern on the library's own code makes sure the symbols were there to be checked (a
# stripped binary would pass every NOT_HAVE).
cmake_minimum_required(VERSION 3.20)

foreach(_v NM FILE)
  if(NOT ${_v})   # unset, empty or <VAR>-NOTFOUND
    message(FATAL_ERROR "CheckLinkHygiene.cmake: -D${_v}=... is required (got '${${_v}}')")
  endif()
endforeach()
if(NOT EXISTS "${FILE}")
  message(FATAL_ERROR "${FILE} does not exist: build it first")
endif()

function(_sf_run out_var)
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    string(REPLACE ";" " " _cmd "${ARGN}")
    message(FATAL_ERROR "${_cmd} failed (${_rc}): ${_err}")
  endif()
  set(${out_var} "${_out}" PARENT_SCOPE)
endfunction()

# The lines of text that match regex (at most 5, for the message).
function(_sf_matching out_var text regex)
  string(REGEX MATCHALL "[^\n]*(${regex})[^\n]*" _hits "${text}")
  list(LENGTH _hits _n)
  if(_n GREATER 5)
    list(SUBLIST _hits 0 5 _hits)
    list(APPEND _hits "... (${_n} lines)")
  endif()
  string(REPLACE ";" "\n    " _hits "${_hits}")
  set(${out_var} "${_hits}" PARENT_SCOPE)
endfunction()

set(_failures "")
macro(_sf_fail text)
  string(APPEND _failures "\n  ${text}")
endmacro()

_sf_run(_demangled "${NM}" -C "${FILE}")
if(NOT_HAVE_RAW)
  _sf_run(_raw "${NM}" "${FILE}")
endif()

foreach(_re IN LISTS HAVE)
  if(NOT _demangled MATCHES "${_re}")
    _sf_fail("no symbol matches '${_re}'")
  endif()
endforeach()
foreach(_re IN LISTS NOT_HAVE)
  if(_demangled MATCHES "${_re}")
    _sf_matching(_hits "${_demangled}" "${_re}")
    _sf_fail("symbols match '${_re}':\n    ${_hits}")
  endif()
endforeach()
foreach(_re IN LISTS NOT_HAVE_RAW)
  if(_raw MATCHES "${_re}")
    _sf_matching(_hits "${_raw}" "${_re}")
    _sf_fail("symbols match '${_re}':\n    ${_hits}")
  endif()
endforeach()

if(NEEDED OR NOT_NEEDED)
  if(NOT READELF)
    message(FATAL_ERROR "CheckLinkHygiene.cmake: -DREADELF=... is required to check NEEDED entries")
  endif()
  _sf_run(_dynamic "${READELF}" -d "${FILE}")
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]*\\]" _entries "${_dynamic}")
  string(REGEX REPLACE "\\(NEEDED\\)[^[;]*\\[([^];]*)\\]" "\\1" _needed "${_entries}")
  if(NOT _needed)
    _sf_fail("no NEEDED entry in `readelf -d`: not a dynamically linked ELF file?")
  endif()
  foreach(_re IN LISTS NEEDED)
    set(_found FALSE)
    foreach(_lib IN LISTS _needed)
      if(_lib MATCHES "${_re}")
        set(_found TRUE)
      endif()
    endforeach()
    if(NOT _found)
      _sf_fail("no NEEDED entry matches '${_re}' (NEEDED: ${_needed})")
    endif()
  endforeach()
  foreach(_re IN LISTS NOT_NEEDED)
    foreach(_lib IN LISTS _needed)
      if(_lib MATCHES "${_re}")
        _sf_fail("NEEDED ${_lib} matches '${_re}'")
      endif()
    endforeach()
  endforeach()
endif()

if(_failures)
  message(FATAL_ERROR "${FILE}:${_failures}")
endif()
message(STATUS "${FILE}: links what it should")
