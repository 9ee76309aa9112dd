//! The model file format: exact round trips, one distinct error per malformed case, and no panic
//! on arbitrary bytes.

mod common;

use proptest::prelude::*;
use simforecast_runtime::model::{Model, ModelFileError, FORMAT_VERSION};

fn bytes() -> Vec<u8> {
    common::wide_model().to_bytes()
}

fn reseal(mut b: Vec<u8>) -> Vec<u8> {
    let n = b.len() - 4;
    let crc = crc32fast::hash(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn round_trip_is_exact() {
    let model = common::wide_model();
    let b = model.to_bytes();
    let back = Model::from_bytes(&b, "mem").unwrap();
    // Debug strings compare NaN fields (undefined CV figures) as equal, unlike PartialEq.
    assert_eq!(format!("{model:?}"), format!("{back:?}"));
    assert_eq!(back.to_bytes(), b);
    let path = std::env::temp_dir().join(format!("sf-roundtrip-{}.sfm", std::process::id()));
    model.save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap().to_bytes(), b);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn each_malformed_case_has_its_own_error() {
    let good = bytes();
    let err = |b: &[u8]| Model::from_bytes(b, "m.sfm").unwrap_err();

    for cut in [0, 3, 8, 19, 20, good.len() / 2, good.len() - 1] {
        let e = err(&good[..cut]);
        assert!(
            matches!(e, ModelFileError::Truncated { .. }),
            "cut {cut}: {e}"
        );
        assert!(e.to_string().contains("truncated"));
    }

    let e = err(b"# Time-averaged data for fix out\n# TimeStep v_eta\n10 0.5\n");
    assert!(matches!(e, ModelFileError::Foreign { .. }), "{e}");
    assert!(e.to_string().contains("not a simforecast model file"));

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let e = err(&flipped);
    assert!(matches!(e, ModelFileError::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("corrupted"));

    let mut future = good.clone();
    future[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let e = err(&future);
    assert!(matches!(e, ModelFileError::FutureVersion { .. }), "{e}");
    assert!(e.to_string().contains("upgrade simforecast"));

    let mut old = good.clone();
    old[8..12].copy_from_slice(&0u32.to_le_bytes());
    let e = err(&old);
    assert!(matches!(e, ModelFileError::OldVersion { .. }), "{e}");
    assert!(e.to_string().contains("retrain"));

    // Versions 3 (stages with side-by-side calibrations and sentinel values), 4 (no signal
    // guard), 5 (no regression stages, KNN tolerances as full widths, no joint risk budget) and
    // 6 (a tolerance table in every regression stage, quantiles per tolerance) are no longer
    // read.
    assert_eq!(FORMAT_VERSION, 7);
    for version in [3u32, 4, 5, 6] {
        let mut old = good.clone();
        old[8..12].copy_from_slice(&version.to_le_bytes());
        let e = err(&reseal(old));
        assert!(
            matches!(e, ModelFileError::OldVersion { found, .. } if found == version),
            "{e}"
        );
        assert!(
            e.to_string().contains(&format!(
                "format version {version}, which this simforecast no longer reads (it reads 7)"
            )),
            "{e}"
        );
        assert!(e.to_string().contains("retrain the model"), "{e}");
    }

    // A valid checksum over a payload that does not decode.
    let mut garbage = good.clone();
    for b in &mut garbage[20..60] {
        *b = 0xff;
    }
    let e = err(&reseal(garbage));
    assert!(matches!(e, ModelFileError::Corrupted { .. }), "{e}");
    assert!(e.to_string().contains("does not decode"));

    let mut trailing = good.clone();
    trailing.extend_from_slice(b"xx");
    assert!(matches!(err(&trailing), ModelFileError::Corrupted { .. }));

    let e = Model::load(std::path::Path::new("/nonexistent/model.sfm")).unwrap_err();
    assert!(matches!(e, ModelFileError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/model.sfm"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut with_magic = b"SIMFCST\0".to_vec();
        with_magic.extend_from_slice(&data);
        prop_assert!(Model::from_bytes(&data, "fuzz").is_err());
        prop_assert!(Model::from_bytes(&with_magic, "fuzz").is_err());
    }

    #[test]
    fn mutated_models_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        resealed in any::<bool>(),
    ) {
        let mut b = bytes();
        for (i, v) in &flips {
            let at = i.index(b.len());
            b[at] = *v;
        }
        // With a fixed-up checksum the decoder and validator see the damage themselves.
        let b = if resealed && b.len() > 24 { reseal(b) } else { b };
        let _ = Model::from_bytes(&b, "fuzz");
    }
}
