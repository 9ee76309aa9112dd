//! Generates the campaign's C header with cbindgen from `src/capi.rs` alone (the rest of the
//! crate is Rust-only). Written to `$OUT_DIR/simforecast_campaign.h`; `tests/header.rs` fails
//! when it differs from the committed `include/simforecast_campaign.h` (`make header`).

fn main() {
    println!("cargo:rerun-if-changed=src/capi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let out_dir = std::env::var("OUT_DIR").unwrap();
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_src(format!("{crate_dir}/src/capi.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the campaign C header")
        .write_to_file(format!("{out_dir}/simforecast_campaign.h"));
}
