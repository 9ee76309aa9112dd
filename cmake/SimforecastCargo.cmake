# Build the Rust static libraries with cargo and expose them as two imported targets:
#   simforecast::simforecast  the C ABI (libsimforecast.a, include/simforecast.h): a C program
#                             links it with no C++ runtime;
#   simforecast::cxx          the C++ API (libsimforecast_cxx.a, include/simforecast.hpp and the
#                             cxx-generated headers); the archive holds the C ABI as well, so a
#                             C++ program links this one alone (never both: each archive carries
#                             its own copy of the Rust runtime).
#
# CMake drives cargo instead of compiling Rust itself: a custom target runs
# `cargo build --release --workspace` on every build, and cargo's own dependency
# tracking decides whether anything is recompiled (a no-op build takes well
# under a second). The archive is declared as a byproduct so that generators
# with restat (Ninja) and the Makefile generator relink dependents only when
# the archive really changed.
#
# Inputs (cache variables):
#   CARGO_EXECUTABLE               cargo to use (found on PATH or in ~/.cargo/bin)
#   SIMFORECAST_CARGO_TARGET_DIR   cargo's target directory; defaults to $CARGO_TARGET_DIR
#                                  when set, else <crate>/target, so CMake and plain
#                                  `cargo build --release` share one build
#   SIMFORECAST_CARGO_FLAGS        extra arguments for cargo build (e.g. --locked)
#   SIMFORECAST_NATIVE_LIBS        system libraries the Rust static library needs
# Outputs:
#   target simforecast_cargo, imported targets simforecast::simforecast and simforecast::cxx,
#   SIMFORECAST_STATIC_LIB (path of libsimforecast.a), SIMFORECAST_CXX_STATIC_LIB
#   (libsimforecast_cxx.a), SIMFORECAST_INCLUDE_DIR,
#   SIMFORECAST_CLI (path of the simforecast tool, built when SIMFORECAST_BUILD_CLI is ON),
#   SIMFORECAST_CAMPAIGN_LIB (libsimforecast_campaign.so: the campaign crate's C ABI, with the
#   training code, which fix forecast dlopens only for its `campaign` keyword; never linked),
#   SIMFORECAST_CXXBRIDGE_INCLUDE_DIR (the C++ API's generated headers, see below)

# The crate is found relative to this file, not PROJECT_SOURCE_DIR, so that other CMake
# projects (cmake/lammps-builtin, which builds LAMMPS with the fix compiled in) can include it.
get_filename_component(_sf_crate_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

find_program(CARGO_EXECUTABLE cargo
  HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin"
  DOC "cargo, to build the simforecast Rust library")
if(NOT CARGO_EXECUTABLE)
  message(FATAL_ERROR "cargo not found: install Rust (rustup) or set -DCARGO_EXECUTABLE=/path/to/cargo")
endif()

if(DEFINED ENV{CARGO_TARGET_DIR} AND NOT "$ENV{CARGO_TARGET_DIR}" STREQUAL "")
  set(_sf_default_target_dir "$ENV{CARGO_TARGET_DIR}")
else()
  set(_sf_default_target_dir "${_sf_crate_dir}/target")
endif()
set(SIMFORECAST_CARGO_TARGET_DIR "${_sf_default_target_dir}" CACHE PATH
  "cargo target directory used to build libsimforecast.a")
set(SIMFORECAST_CARGO_FLAGS "" CACHE STRING "extra arguments for cargo build")

# What the Rust standard library needs from the system when a Rust static library is linked
# by a non-Rust linker. Taken from
#   cargo rustc --release --lib -- --print native-static-libs
# on x86_64-unknown-linux-gnu (Rust 1.95): "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc".
# libc is implied by every C/C++ link and is left out. libsimforecast_cxx.a also holds the C++
# side of the cxx bridge, which cargo does not list: its users need libstdc++ as well (added
# below); libsimforecast.a has no C++ in it. Re-run that command after adding a dependency with
# a native part and update this list if it changes. (A plain variable, not a cache entry, so
# that an update here reaches existing build trees; -DSIMFORECAST_NATIVE_LIBS=... still
# overrides it.)
if(NOT DEFINED SIMFORECAST_NATIVE_LIBS)
  set(SIMFORECAST_NATIVE_LIBS "gcc_s;util;rt;pthread;m;dl")
endif()
option(SIMFORECAST_BUILD_CLI "also build the simforecast command-line tool (tests train models with it)" ON)

set(SIMFORECAST_STATIC_LIB "${SIMFORECAST_CARGO_TARGET_DIR}/release/${CMAKE_STATIC_LIBRARY_PREFIX}simforecast${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(SIMFORECAST_CXX_STATIC_LIB "${SIMFORECAST_CARGO_TARGET_DIR}/release/${CMAKE_STATIC_LIBRARY_PREFIX}simforecast_cxx${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(SIMFORECAST_INCLUDE_DIR "${_sf_crate_dir}/include")

separate_arguments(_sf_cargo_flags UNIX_COMMAND "${SIMFORECAST_CARGO_FLAGS}")
set(SIMFORECAST_CAMPAIGN_LIB "${SIMFORECAST_CARGO_TARGET_DIR}/release/${CMAKE_SHARED_LIBRARY_PREFIX}simforecast_campaign${CMAKE_SHARED_LIBRARY_SUFFIX}")
set(_sf_cargo_packages -p simforecast -p simforecast-cxx -p simforecast-campaign)
set(_sf_byproducts "${SIMFORECAST_STATIC_LIB}" "${SIMFORECAST_CXX_STATIC_LIB}" "${SIMFORECAST_CAMPAIGN_LIB}")
set(SIMFORECAST_CLI "${SIMFORECAST_CARGO_TARGET_DIR}/release/simforecast${CMAKE_EXECUTABLE_SUFFIX}")
if(SIMFORECAST_BUILD_CLI)
  list(APPEND _sf_cargo_packages -p simforecast-cli)
  list(APPEND _sf_byproducts "${SIMFORECAST_CLI}")
endif()
add_custom_target(simforecast_cargo ALL
  COMMAND "${CMAKE_COMMAND}" -E env "CARGO_TARGET_DIR=${SIMFORECAST_CARGO_TARGET_DIR}"
          "${CARGO_EXECUTABLE}" build --release ${_sf_cargo_packages}
          --manifest-path "${_sf_crate_dir}/Cargo.toml" ${_sf_cargo_flags}
  BYPRODUCTS ${_sf_byproducts}
  WORKING_DIRECTORY "${_sf_crate_dir}"
  COMMENT "cargo build --release (libsimforecast.a, libsimforecast_cxx.a, libsimforecast_campaign.so in ${SIMFORECAST_CARGO_TARGET_DIR})"
  USES_TERMINAL
  VERBATIM)

# The C++ API's headers are generated by cxx_build into <target>/cxxbridge as symlinks into
# cargo's OUT_DIR: rust/cxx.h and simforecast-cxx/src/lib.rs.h (included by
# include/simforecast.hpp). They are copied (content, not links; only when changed, so C++
# consumers are not recompiled needlessly) into the build tree, which is both the build-tree
# include directory and what gets installed.
set(SIMFORECAST_CXXBRIDGE_INCLUDE_DIR "${CMAKE_BINARY_DIR}/cxxbridge/include")
# Imported targets must not name missing include directories at generate time.
file(MAKE_DIRECTORY "${SIMFORECAST_CXXBRIDGE_INCLUDE_DIR}/rust" "${SIMFORECAST_CXXBRIDGE_INCLUDE_DIR}/simforecast-cxx/src")
foreach(_sf_h rust/cxx.h simforecast-cxx/src/lib.rs.h)
  add_custom_command(TARGET simforecast_cargo POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -E copy_if_different
            "${SIMFORECAST_CARGO_TARGET_DIR}/cxxbridge/${_sf_h}" "${SIMFORECAST_CXXBRIDGE_INCLUDE_DIR}/${_sf_h}"
    VERBATIM)
endforeach()

add_library(simforecast STATIC IMPORTED GLOBAL)
set_target_properties(simforecast PROPERTIES
  IMPORTED_LOCATION "${SIMFORECAST_STATIC_LIB}"
  IMPORTED_LINK_INTERFACE_LANGUAGES "C"
  INTERFACE_INCLUDE_DIRECTORIES "${SIMFORECAST_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${SIMFORECAST_NATIVE_LIBS}")
# Imported targets build nothing themselves; this makes every consumer wait for cargo.
add_dependencies(simforecast simforecast_cargo)
add_library(simforecast::simforecast ALIAS simforecast)

add_library(simforecast_cxx STATIC IMPORTED GLOBAL)
set_target_properties(simforecast_cxx PROPERTIES
  IMPORTED_LOCATION "${SIMFORECAST_CXX_STATIC_LIB}"
  IMPORTED_LINK_INTERFACE_LANGUAGES "CXX"
  INTERFACE_INCLUDE_DIRECTORIES "${SIMFORECAST_INCLUDE_DIR};${SIMFORECAST_CXXBRIDGE_INCLUDE_DIR}"
  INTERFACE_COMPILE_FEATURES cxx_std_17
  INTERFACE_LINK_LIBRARIES "stdc++;${SIMFORECAST_NATIVE_LIBS}")
add_dependencies(simforecast_cxx simforecast_cargo)
add_library(simforecast::cxx ALIAS simforecast_cxx)
