# The real models and reference decisions the C and C++ API tests check against:
#
#   cmake -DCLI=<simforecast> -DTRACES=<data/nemd-wide-public/traces> -DOUT=<dir> -P make_fixture.cmake
#
# Splits the wide public campaign by position in the sorted listing: the even-positioned traces
# (symlinked into <dir>/train) train two models with the simforecast CLI,
#   wide.sfm   default preset (calibrated screening, conformal forecasts: never halts here)
#   paper.sfm  paper preset (majority vote halts at 100 frames: some held-out runs are halted)
# and every odd-positioned (held-out) trace is replayed by `simforecast predict --json` under both
# models. <dir>/heldout.tsv lists "trace<TAB>wide json<TAB>paper json" per held-out trace, and
# <dir>/halting.txt names one held-out trace the paper model halts (for the examples' test).
# <dir>/convergence.json is `simforecast convergence --json` over the held-out traces (the
# model-free mode with its defaults: where each run stops on its own statistics, and on what).
cmake_minimum_required(VERSION 3.20)

foreach(_v CLI TRACES OUT)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "make_fixture.cmake: -D${_v}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${CLI}")
  message(FATAL_ERROR "simforecast CLI not found at ${CLI}: build the project first (cmake --build)")
endif()

file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}/train" "${OUT}/predict")

file(GLOB _traces LIST_DIRECTORIES false "${TRACES}/*.dat")
list(SORT _traces)
list(LENGTH _traces _n)
if(_n LESS 20)
  message(FATAL_ERROR "expected the shipped campaign in ${TRACES}, found ${_n} traces")
endif()

set(_heldout "")
set(_i 0)
foreach(_t IN LISTS _traces)
  math(EXPR _odd "${_i} % 2")
  get_filename_component(_name "${_t}" NAME)
  if(_odd)
    list(APPEND _heldout "${_t}")
  else()
    file(CREATE_LINK "${_t}" "${OUT}/train/${_name}" SYMBOLIC)
  endif()
  math(EXPR _i "${_i} + 1")
endforeach()

function(sf_run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    string(REPLACE ";" " " _cmd "${ARGN}")
    message(FATAL_ERROR "failed (${_rc}): ${_cmd}\n${_out}\n${_err}")
  endif()
endfunction()

foreach(_preset wide paper)
  set(_extra "")
  if(_preset STREQUAL "paper")
    set(_extra --preset paper)
  endif()
  message(STATUS "training ${_preset}.sfm on the even traces of ${TRACES}")
  sf_run("${CLI}" train "${OUT}/train" --threshold 33.1 ${_extra} -o "${OUT}/${_preset}.sfm")
endforeach()

list(LENGTH _heldout _nh)
message(STATUS "simforecast predict --json on ${_nh} held-out traces, under both models")
set(_tsv "")
set(_halting "")
foreach(_t IN LISTS _heldout)
  get_filename_component(_stem "${_t}" NAME_WE)
  foreach(_preset wide paper)
    set(_json "${OUT}/predict/${_stem}.${_preset}.json")
    execute_process(COMMAND "${CLI}" predict --model "${OUT}/${_preset}.sfm" "${_t}" --json
      RESULT_VARIABLE _rc OUTPUT_FILE "${_json}" ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "simforecast predict failed on ${_t} with ${_preset}.sfm: ${_err}")
    endif()
  endforeach()
  if(NOT _halting)
    file(READ "${OUT}/predict/${_stem}.paper.json" _doc)
    string(JSON _hf_type TYPE "${_doc}" halt_frame)
    if(_hf_type STREQUAL "NUMBER")
      set(_halting "${_t}")
    endif()
  endif()
  string(APPEND _tsv "${_t}\t${OUT}/predict/${_stem}.wide.json\t${OUT}/predict/${_stem}.paper.json\n")
endforeach()
if(NOT _halting)
  message(FATAL_ERROR "the paper model halts no held-out trace: the tests would not exercise halting")
endif()
message(STATUS "simforecast convergence --json on the held-out traces")
execute_process(COMMAND "${CLI}" convergence --json ${_heldout}
  RESULT_VARIABLE _rc OUTPUT_FILE "${OUT}/convergence.json" ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "simforecast convergence failed on the held-out traces: ${_err}")
endif()
file(WRITE "${OUT}/heldout.tsv" "${_tsv}")
file(WRITE "${OUT}/halting.txt" "${_halting}\n")
message(STATUS "fixture ready in ${OUT}")
