//! Which runs the audit lets run to the end: a fixed share of would-be stops, chosen by a hash
//! of the run's id alone, so every rank, process and replay gives the same answer.

use sha2::{Digest, Sha256};

/// True when run `run_id` is in the audited `fraction` (0 = none, 1 = all).
pub fn is_audited(run_id: &str, fraction: f64) -> bool {
    let digest = Sha256::digest(format!("simforecast-audit:{run_id}").as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    // The top 53 bits as a uniform number in [0, 1).
    ((head >> 11) as f64 / (1u64 << 53) as f64) < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_close_to_the_fraction_and_stable() {
        let hits = (0..10_000)
            .filter(|i| is_audited(&format!("run_{i:04}"), 0.1))
            .count();
        assert!((900..1100).contains(&hits), "{hits}");
        assert!(!is_audited("x", 0.0));
        assert!(is_audited("x", 1.0));
        assert_eq!(is_audited("run_0042", 0.1), is_audited("run_0042", 0.1));
    }
}
