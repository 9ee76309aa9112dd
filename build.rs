//! Generates the C header with cbindgen from this crate (src/lib.rs) and from the runtime's
//! state and verdict codes (crates/runtime/src/codes.rs, their one definition).
//!
//! The header is written to `$OUT_DIR/simforecast.h`; `tests/header.rs` fails when it differs
//! from the committed `include/simforecast.h` (run `make header` to update it).

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=crates/runtime/src/codes.rs");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let out_dir = std::env::var("OUT_DIR").unwrap();
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_src(format!("{crate_dir}/crates/runtime/src/codes.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the C header")
        .write_to_file(format!("{out_dir}/simforecast.h"));
}
