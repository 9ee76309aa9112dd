# Builds one of examples/c, examples/cpp as a user would (its own CMake project, find_package
# against an installed simforecast), then runs it on the C/C++ API tests' fixture:
#   - the wide model on a held-out trace: a forecast, at the frame `simforecast predict` forecasts;
#   - the paper model on the same trace, which it halts: HALT at predict's halt frame;
#   - a missing and a foreign model file: a non-zero exit and the library's message.
#
#   cmake -DSOURCE=examples/c -DBINARY=<dir> -DPREFIX=<install prefix> -DFIXTURE=<capi fixture>
#         -DGENERATOR=<generator> -DCC=<c compiler> -DCXX=<c++ compiler> -P example.cmake
cmake_minimum_required(VERSION 3.20)

foreach(_v SOURCE BINARY PREFIX FIXTURE GENERATOR)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "example.cmake: -D${_v}=... is required")
  endif()
endforeach()

function(sf_run out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  string(REPLACE ";" " " _cmd "${ARGN}")
  message(STATUS "$ ${_cmd}\n${_out}${_err}")
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "failed (${_rc}): ${_cmd}")
  endif()
  set(${out_var} "${_out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${BINARY}")
set(_compilers "")
if(CC)
  list(APPEND _compilers "-DCMAKE_C_COMPILER=${CC}")
endif()
if(CXX)
  list(APPEND _compilers "-DCMAKE_CXX_COMPILER=${CXX}")
endif()
# (--no-warn-unused-cli: a C-only project does not use the C++ compiler, and vice versa)
sf_run(_ "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}" -G "${GENERATOR}" --no-warn-unused-cli
  "-DCMAKE_PREFIX_PATH=${PREFIX}" ${_compilers})
sf_run(_ "${CMAKE_COMMAND}" --build "${BINARY}")
set(_exe "${BINARY}/forecast_trace")

file(STRINGS "${FIXTURE}/halting.txt" _trace LIMIT_COUNT 1)
get_filename_component(_stem "${_trace}" NAME_WE)

# The frame of predict's first forecast / halt for this trace under a model.
function(sf_predicted out_var model key)
  file(READ "${FIXTURE}/predict/${_stem}.${model}.json" _doc)
  string(JSON _frame GET "${_doc}" ${key})
  set(${out_var} "${_frame}" PARENT_SCOPE)
endfunction()

sf_run(_wide "${_exe}" "${FIXTURE}/wide.sfm" "${_trace}")
sf_predicted(_want wide forecast_frame)
# The default model forecasts only runs it cleared as relevant; on a run it leaves uncleared
# (probably irrelevant, or out of distribution) the example must print no forecast either.
if(_want STREQUAL "NOTFOUND" OR _want STREQUAL "" OR _want STREQUAL "null")
  if(_wide MATCHES "forecast: mu-sigma")
    message(FATAL_ERROR "the example forecasts a run simforecast predict does not forecast")
  endif()
else()
  if(NOT _wide MATCHES "\\(frame ([0-9]+)\\): forecast: mu-sigma [-+0-9.e]+, mu\\+sigma [-+0-9.e]+")
    message(FATAL_ERROR "no forecast printed with the wide model")
  endif()
  if(NOT CMAKE_MATCH_1 EQUAL _want)
    message(FATAL_ERROR "forecast at frame ${CMAKE_MATCH_1}, simforecast predict forecasts at ${_want}")
  endif()
endif()
if(_wide MATCHES "HALT")
  message(FATAL_ERROR "the wide model never halts, the example printed a halt")
endif()

sf_run(_paper "${_exe}" "${FIXTURE}/paper.sfm" "${_trace}")
sf_predicted(_want paper halt_frame)
if(NOT _paper MATCHES "\\(frame ([0-9]+)\\): HALT")
  message(FATAL_ERROR "no halt printed with the paper model")
endif()
if(NOT CMAKE_MATCH_1 EQUAL _want)
  message(FATAL_ERROR "halt at frame ${CMAKE_MATCH_1}, simforecast predict halts at ${_want}")
endif()
if(NOT _paper MATCHES "frames in the trace; ${_want} needed \\(halted\\)")
  message(FATAL_ERROR "the summary does not say the run was halted at frame ${_want}")
endif()

foreach(_bad "missing.sfm;cannot read model file" "foreign;not a simforecast model file")
  list(GET _bad 0 _name)
  list(GET _bad 1 _message)
  if(_name STREQUAL "foreign")
    set(_model "${_trace}") # a trace is not a model
  else()
    set(_model "${BINARY}/${_name}")
  endif()
  execute_process(COMMAND "${_exe}" "${_model}" "${_trace}" RESULT_VARIABLE _rc ERROR_VARIABLE _err OUTPUT_QUIET)
  if(_rc EQUAL 0 OR NOT _err MATCHES "${_message}")
    message(FATAL_ERROR "bad model ${_model}: exit ${_rc}, stderr '${_err}' (expected a failure and '${_message}')")
  endif()
endforeach()
message(STATUS "example ${SOURCE}: forecast and halt at predict's frames; bad models refused")
