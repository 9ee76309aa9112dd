//! The committed C header must be exactly what cbindgen generates from src/lib.rs today.

#[test]
fn committed_header_matches_cbindgen_output() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/simforecast.h"))
        .expect("build.rs generates the header");
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/simforecast.h"
    ))
    .expect("include/simforecast.h is committed");
    assert!(
        generated == committed,
        "include/simforecast.h is stale: run `make header` and commit it"
    );
}
