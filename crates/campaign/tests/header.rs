//! The committed campaign C header must be exactly what cbindgen generates from src/capi.rs.

#[test]
fn committed_header_matches_cbindgen_output() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/simforecast_campaign.h"))
        .expect("build.rs generates the header");
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../include/simforecast_campaign.h"
    ))
    .expect("include/simforecast_campaign.h is committed");
    assert!(
        generated == committed,
        "include/simforecast_campaign.h is stale: run `make header` and commit it"
    );
}
