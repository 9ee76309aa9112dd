//! Builds the C++ side of the cxx bridge (the C++ API, include/simforecast.hpp).

fn main() {
    cxx_build::bridge("src/lib.rs")
        .std("c++17")
        .flag_if_supported("-fvisibility=hidden")
        .compile("simforecast-cxx");
    println!("cargo:rerun-if-changed=src/lib.rs");
}
