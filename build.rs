//! Builds the cxx bridge of the C++ API and generates the C header with cbindgen.
//!
//! The header is written to `$OUT_DIR/simforecast.h`; `tests/header.rs` fails when it differs
//! from the committed `include/simforecast.h` (run `make header` to update it).

fn main() {
    cxx_build::bridge("src/cxx_api.rs")
        .std("c++17")
        .flag_if_supported("-fvisibility=hidden")
        .compile("simforecast-cxx");
    println!("cargo:rerun-if-changed=src/cxx_api.rs");
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let out_dir = std::env::var("OUT_DIR").unwrap();
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the C header")
        .write_to_file(format!("{out_dir}/simforecast.h"));
}
