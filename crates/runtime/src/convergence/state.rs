//! The convergence estimator's trace as bytes, for restart files: the block buffer and the partial
//! block (a fixed number of numbers whatever the run's length), through the runtime's codec.

use serde::{Deserialize, Serialize};

use super::Convergence;
use crate::error::{Error, Result};

/// Leads the bytes of [`Convergence::save_state`]; the last byte is the layout's version.
const STATE_MAGIC: [u8; 8] = *b"SFCONVS\x01";

/// What [`Convergence::save_state`] keeps: the block buffer and the partial block, and the
/// capacity that shaped them (the judging parameters are the caller's, so a restarted run may
/// change its tolerance).
#[derive(Serialize, Deserialize)]
struct SavedState {
    capacity: u64,
    shift: f64,
    frames: u64,
    block: u64,
    sums: Vec<f64>,
    squares: Vec<f64>,
    part_n: u64,
    part_sum: f64,
    part_squares: f64,
}

impl Convergence {
    /// The trace seen so far as bytes (for restart files): a fixed number of numbers whatever
    /// the run's length. Restored by [`Convergence::load_state`] into an estimator of the same
    /// capacity; the parameters that judge a check are not saved.
    pub fn save_state(&self) -> Vec<u8> {
        let saved = SavedState {
            capacity: self.params.params.capacity as u64,
            shift: self.shift,
            frames: self.frames,
            block: self.block,
            sums: self.sums.clone(),
            squares: self.squares.clone(),
            part_n: self.part_n,
            part_sum: self.part_sum,
            part_squares: self.part_squares,
        };
        let mut out = STATE_MAGIC.to_vec();
        out.extend_from_slice(
            &crate::model::encode_state(&saved).expect("convergence state serialises"),
        );
        out
    }

    /// Restores a trace saved by [`Convergence::save_state`]. Refused, leaving the estimator
    /// unchanged, when the bytes are not such a state, are corrupted or inconsistent, or were
    /// saved with another capacity (its blocks would not pair as this estimator's do).
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |why: String| Err(Error::State(why));
        if bytes.len() < STATE_MAGIC.len() || bytes[..STATE_MAGIC.len()] != STATE_MAGIC {
            return bad(
                "not a simforecast convergence estimator state (wrong magic or too short)".into(),
            );
        }
        let s: SavedState = crate::model::decode_state(&bytes[STATE_MAGIC.len()..])
            .map_err(|e| Error::State(format!("convergence estimator state corrupted ({e})")))?;
        let cap = self.params.params.capacity;
        if s.capacity != cap as u64 {
            return bad(format!(
                "the convergence estimator state was saved with capacity {}, this estimator has {cap}",
                s.capacity
            ));
        }
        let k = s.sums.len();
        // What `push` maintains: block sizes double from 1, a full buffer is paired at once (so
        // after a pairing at least half of it is kept), the partial block is shorter than a block,
        // and every frame is in a block or the partial one.
        let consistent = s.block.is_power_of_two()
            && k == s.squares.len()
            && k < cap
            && (s.block == 1 || k >= cap / 2)
            && s.part_n < s.block
            && (k as u64)
                .checked_mul(s.block)
                .and_then(|f| f.checked_add(s.part_n))
                == Some(s.frames)
            && s.sums
                .iter()
                .chain(&s.squares)
                .chain([&s.shift, &s.part_sum, &s.part_squares])
                .all(|x| x.is_finite())
            && s.squares.iter().all(|&q| q >= 0.0)
            && s.part_squares >= 0.0;
        if !consistent {
            return bad("the convergence estimator state has inconsistent contents".into());
        }
        self.shift = s.shift;
        self.frames = s.frames;
        self.block = s.block;
        // Into the buffers allocated at construction: k < capacity.
        self.sums.clear();
        self.sums.extend_from_slice(&s.sums);
        self.squares.clear();
        self.squares.extend_from_slice(&s.squares);
        self.part_n = s.part_n;
        self.part_sum = s.part_sum;
        self.part_squares = s.part_squares;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Check, ConvergenceParams};
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A relaxation onto a plateau with AR(1) noise.
    fn trace(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = 0.0;
        (0..n)
            .map(|t| {
                x = 0.7 * x + rng.gen::<f64>() - 0.5;
                5.0 + 3.0 * (-(t as f64) / 80.0).exp() + x
            })
            .collect()
    }

    fn estimator(capacity: usize) -> Convergence {
        Convergence::new(
            ConvergenceParams {
                capacity,
                ..Default::default()
            }
            .validate()
            .unwrap(),
        )
    }

    /// Checks every 50 frames of `xs[from..]`, pushed into `c`.
    fn checks(c: &mut Convergence, xs: &[f64], from: usize) -> Vec<Check> {
        let mut out = Vec::new();
        for (i, &x) in xs.iter().enumerate().skip(from) {
            c.push(x).unwrap();
            if (i + 1) % 50 == 0 {
                out.push(c.check());
            }
        }
        out
    }

    #[test]
    fn a_run_split_by_save_and_load_checks_like_the_whole_run() {
        let xs = trace(3000, 3);
        let whole = checks(&mut estimator(64), &xs, 0);
        // Before any block, inside the first buffer, at and after pairings, mid-block.
        for split in [0, 1, 37, 63, 64, 65, 200, 511, 1000, 1777, 3000] {
            let mut first = estimator(64);
            for &x in &xs[..split] {
                first.push(x).unwrap();
            }
            let bytes = first.save_state();
            let mut second = estimator(64);
            // A used estimator is overwritten, not added to.
            for &x in &xs[..100] {
                second.push(-x).unwrap();
            }
            second.load_state(&bytes).unwrap();
            assert_eq!(second.frames(), split as u64);
            assert_eq!(second.save_state(), bytes, "split {split}");
            let before: Vec<Check> = whole[..split / 50].to_vec();
            let after = checks(&mut second, &xs, split);
            assert_eq!([before, after].concat(), whole, "split {split}");
        }
    }

    #[test]
    fn the_state_does_not_grow_with_the_run() {
        let xs = trace(20_000, 4);
        let mut c = estimator(64);
        let mut largest = 0;
        for &x in &xs {
            c.push(x).unwrap();
            largest = largest.max(c.save_state().len());
        }
        // Two numbers per block of a buffer of 64, plus a handful.
        assert!(largest <= 8 + 8 * (2 * 64 + 16), "{largest} bytes");
    }

    #[test]
    fn foreign_corrupted_or_inconsistent_states_are_refused_and_change_nothing() {
        let xs = trace(700, 5);
        let mut saved = estimator(64);
        for &x in &xs {
            saved.push(x).unwrap();
        }
        let good = saved.save_state();
        let forged = |edit: &dyn Fn(&mut SavedState)| {
            let mut s: SavedState = crate::model::decode_state(&good[8..]).unwrap();
            edit(&mut s);
            let mut out = STATE_MAGIC.to_vec();
            out.extend(crate::model::encode_state(&s).unwrap());
            out
        };
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "not a simforecast convergence"),
            (
                "monitor magic",
                b"SFMONST\x02rest".to_vec(),
                "not a simforecast convergence",
            ),
            ("truncated", good[..good.len() - 3].to_vec(), "corrupted"),
            ("trailing bytes", [&good[..], &[0u8]].concat(), "corrupted"),
            (
                "frame count",
                forged(&|s| s.frames += 1),
                "inconsistent contents",
            ),
            (
                "block size",
                forged(&|s| s.block = 3),
                "inconsistent contents",
            ),
            (
                "partial block",
                forged(&|s| {
                    s.part_n = s.block;
                    s.frames += s.block - (s.frames % s.block);
                }),
                "inconsistent contents",
            ),
            (
                "non-finite sum",
                forged(&|s| s.sums[3] = f64::NAN),
                "inconsistent contents",
            ),
            (
                "negative squares",
                forged(&|s| s.squares[0] = -1.0),
                "inconsistent contents",
            ),
            ("capacity", forged(&|s| s.capacity = 128), "capacity 128"),
        ];
        let mut c = estimator(64);
        for &x in &xs[..123] {
            c.push(x).unwrap();
        }
        let before = c.save_state();
        for (what, bytes, message) in cases {
            let err = c.load_state(&bytes).unwrap_err();
            assert!(matches!(err, Error::State(_)), "{what}: {err}");
            assert!(err.to_string().contains(message), "{what}: {err}");
            assert_eq!(c.save_state(), before, "{what} changed the estimator");
        }
        // And a state saved by a larger estimator does not fit a smaller one.
        let err = estimator(128).load_state(&good).unwrap_err();
        assert!(err.to_string().contains("capacity 64"), "{err}");
    }
}
