//! Model-free convergence: a running trace's long-run mean estimated from its own frames, and
//! whether that estimate is within the user's tolerance yet.
//!
//! Frames are folded into a bounded buffer of block sums (and sums of squares). When the buffer
//! is full, adjacent blocks are paired, so it always holds between `capacity / 2` and `capacity`
//! blocks of a common size that doubles as the run goes on: a push is a few additions, and the
//! memory is fixed at construction whatever the run's length.
//!
//! At a decision point ([`Convergence::check`]), on the block means:
//! - the end of equilibration t0 is chosen among block boundaries, either by the largest number
//!   of effective samples after it (pymbar's `detect_equilibration`, Chodera 2016) or by MSER
//!   (White 1997), by default never discarding more than half the frames: an estimate from the
//!   last few blocks only is what both criteria are known to be fooled into;
//! - the statistical inefficiency g of the frames after t0 combines the blocking variance of the
//!   block means with Geyer's initial monotone sequence over their autocovariances (as in the
//!   `red` package), so it holds whether the blocks are shorter or longer than the correlation
//!   time;
//! - the mean m, the interval m ± z·sd·sqrt(g / (n − t0)) at the requested level, and the means of
//!   the two halves of [t0, n) (a drift check: a slow drift looks like a plateau to the interval
//!   alone).
//!
//! The verdict is "converged by own statistics": nothing here knows the bias of stopping early
//! on a system that drifts for longer than the run has been watched. Lag products for every
//! candidate t0 are accumulated in one backward pass, so a decision costs O(blocks · lags) with no
//! allocation.

use serde::{Deserialize, Serialize};

use crate::codes::ConvergenceVerdict;
use crate::error::{Error, Result};

mod state;

// How the end of equilibration is chosen: defined with the codes of the foreign APIs.
pub use crate::codes::Equilibration;

/// What the caller asks of the estimator; [`ConvergenceParams::validate`] checks it once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceParams {
    /// Largest relative half-width, half-width / |m|, of the interval for the long-run mean.
    pub tolerance: f64,
    /// Largest relative difference |m₂ − m₁| / |m| of the means of the two halves of [t0, n).
    pub drift_tolerance: f64,
    /// Two-sided coverage of the interval (0.9: z = 1.645).
    pub level: f64,
    /// No run is declared converged before this many frames.
    pub min_frames: u64,
    /// Largest share of the frames seen that t0 may discard, in (0, 1]. 0.5 by default: with
    /// more, both criteria can pick a t0 near the end and decide from a short flat stretch
    /// (pymbar itself allows up to all but the last frames).
    pub max_discard: f64,
    /// Fewest blocks after t0 from which g is estimated (at least 8).
    pub min_blocks: usize,
    /// Blocks the buffer holds before pairing them (even, at least 4 · `min_blocks`).
    pub capacity: usize,
    pub equilibration: Equilibration,
}

impl Default for ConvergenceParams {
    /// The rule of the stopping notes: ±25 % at 90 %, halves within 12.5 %.
    fn default() -> Self {
        Self {
            tolerance: 0.25,
            drift_tolerance: 0.125,
            level: 0.9,
            min_frames: 0,
            max_discard: 0.5,
            min_blocks: 16,
            capacity: 256,
            equilibration: Equilibration::MaxEffectiveSamples,
        }
    }
}

/// Parameters that passed [`ConvergenceParams::validate`], with the interval's z.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidParams {
    params: ConvergenceParams,
    z: f64,
}

impl ValidParams {
    pub fn params(&self) -> &ConvergenceParams {
        &self.params
    }

    /// The normal quantile of the two-sided level.
    pub fn z(&self) -> f64 {
        self.z
    }
}

impl ConvergenceParams {
    pub fn validate(self) -> Result<ValidParams> {
        let bad = |what: String| Err(Error::InvalidArgument(what));
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return bad(format!(
                "tolerance must be a positive relative half-width (0.25 = ±25 %), got {}",
                self.tolerance
            ));
        }
        if !(self.drift_tolerance.is_finite() && self.drift_tolerance > 0.0) {
            return bad(format!(
                "drift tolerance must be a positive fraction of the mean, got {}",
                self.drift_tolerance
            ));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return bad(format!(
                "level must be a coverage strictly between 0 and 1, got {}",
                self.level
            ));
        }
        if !(self.max_discard > 0.0 && self.max_discard <= 1.0) {
            return bad(format!(
                "max_discard must be a share of the frames in (0, 1], got {}",
                self.max_discard
            ));
        }
        if self.min_blocks < 8 {
            return bad(format!(
                "min_blocks must be at least 8 (g from fewer block means is noise), got {}",
                self.min_blocks
            ));
        }
        if self.capacity % 2 != 0 || self.capacity < 4 * self.min_blocks {
            return bad(format!(
                "capacity must be even and at least 4 × min_blocks = {}, got {}",
                4 * self.min_blocks,
                self.capacity
            ));
        }
        let z = normal_quantile(0.5 + self.level / 2.0);
        Ok(ValidParams { params: self, z })
    }
}

/// The estimate of the long-run mean at a decision point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Frames seen, n.
    pub frames: u64,
    /// First frame after equilibration, t0 (0-based; frames [t0, n) make the estimate).
    pub start: u64,
    /// Mean m of frames [t0, n).
    pub mean: f64,
    /// Standard deviation of those frames (ddof = 1).
    pub sd: f64,
    /// Statistical inefficiency g of those frames (at least 1).
    pub inefficiency: f64,
    /// (n − t0) / g.
    pub effective_samples: f64,
    /// z · sd · sqrt(g / (n − t0)).
    pub half_width: f64,
    pub level: f64,
    /// half_width / |m|; None when m is 0.
    pub relative_half_width: Option<f64>,
    pub first_half_mean: f64,
    pub second_half_mean: f64,
    /// |second − first| / |m|; None when m is 0.
    pub relative_drift: Option<f64>,
    /// Frames per block at this decision.
    pub block_size: u64,
    /// Full blocks after t0 from which g was estimated.
    pub blocks: usize,
}

impl Estimate {
    /// The interval (m − half-width, m + half-width).
    pub fn interval(&self) -> (f64, f64) {
        (self.mean - self.half_width, self.mean + self.half_width)
    }
}

/// Whether the run may stop, and if not, the first condition it does not meet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Verdict {
    /// Converged by own statistics: interval within tolerance and halves agreeing.
    Converged,
    /// Too few blocks to estimate anything yet.
    TooFewBlocks {
        blocks: usize,
        needed: usize,
    },
    /// Before the minimum number of frames (the estimate is given, the stop is not).
    TooFewFrames {
        frames: u64,
        needed: u64,
    },
    /// The mean is 0: a relative tolerance cannot be met.
    ZeroMean,
    TooWide {
        relative_half_width: f64,
        tolerance: f64,
    },
    Drifting {
        relative_drift: f64,
        tolerance: f64,
    },
}

/// A decision: the verdict and, once there are enough blocks, the estimate behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub verdict: Verdict,
    pub estimate: Option<Estimate>,
}

impl Check {
    pub fn converged(&self) -> bool {
        self.verdict == Verdict::Converged
    }
}

impl Verdict {
    /// The verdict's code for the foreign APIs (its numbers are in the estimate).
    pub fn code(&self) -> ConvergenceVerdict {
        match self {
            Verdict::Converged => ConvergenceVerdict::Converged,
            Verdict::TooFewBlocks { .. } => ConvergenceVerdict::TooFewBlocks,
            Verdict::TooFewFrames { .. } => ConvergenceVerdict::TooFewFrames,
            Verdict::ZeroMean => ConvergenceVerdict::ZeroMean,
            Verdict::TooWide { .. } => ConvergenceVerdict::TooWide,
            Verdict::Drifting { .. } => ConvergenceVerdict::Drifting,
        }
    }
}

/// The streaming estimator over one trace.
#[derive(Clone, Debug)]
pub struct Convergence {
    params: ValidParams,
    /// Frames are stored minus the first one, so that sums of squares do not cancel.
    shift: f64,
    frames: u64,
    block: u64,
    /// Per full block: sum and sum of squares of its (shifted) frames.
    sums: Vec<f64>,
    squares: Vec<f64>,
    part_n: u64,
    part_sum: f64,
    part_squares: f64,
    // Scratch of `check`, sized at construction.
    means: Vec<f64>,
    suffix: Vec<f64>,
    lags: Vec<f64>,
}

/// Where the backward pass stands at a candidate t0 (in blocks).
struct Candidate {
    start: usize,
    /// Variance of the block means (1/K normalisation) and Geyer's factor over them.
    gamma0: f64,
    factor: f64,
}

impl Convergence {
    pub fn new(params: ValidParams) -> Self {
        let cap = params.params.capacity;
        Self {
            shift: 0.0,
            frames: 0,
            block: 1,
            sums: Vec::with_capacity(cap),
            squares: Vec::with_capacity(cap),
            part_n: 0,
            part_sum: 0.0,
            part_squares: 0.0,
            means: Vec::with_capacity(cap),
            suffix: Vec::with_capacity(cap + 1),
            lags: Vec::with_capacity(cap / 2 + 1),
            params,
        }
    }

    pub fn params(&self) -> &ConvergenceParams {
        &self.params.params
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Forget the trace, keep the buffers.
    pub fn reset(&mut self) {
        self.shift = 0.0;
        self.frames = 0;
        self.block = 1;
        self.sums.clear();
        self.squares.clear();
        self.part_n = 0;
        self.part_sum = 0.0;
        self.part_squares = 0.0;
    }

    /// Adds one frame. A NaN or infinite value is refused and changes nothing.
    pub fn push(&mut self, x: f64) -> Result<()> {
        if !x.is_finite() {
            return Err(Error::NonFinite {
                frame: self.frames as usize,
                value: x,
            });
        }
        if self.frames == 0 {
            self.shift = x;
        }
        let d = x - self.shift;
        self.frames += 1;
        self.part_n += 1;
        self.part_sum += d;
        self.part_squares += d * d;
        if self.part_n == self.block {
            self.sums.push(self.part_sum);
            self.squares.push(self.part_squares);
            self.part_n = 0;
            self.part_sum = 0.0;
            self.part_squares = 0.0;
            if self.sums.len() == self.params.params.capacity {
                self.pair_blocks();
            }
        }
        Ok(())
    }

    /// Halves the number of blocks by adding neighbours; the capacity stays allocated.
    fn pair_blocks(&mut self) {
        let half = self.sums.len() / 2;
        for i in 0..half {
            self.sums[i] = self.sums[2 * i] + self.sums[2 * i + 1];
            self.squares[i] = self.squares[2 * i] + self.squares[2 * i + 1];
        }
        self.sums.truncate(half);
        self.squares.truncate(half);
        self.block *= 2;
    }

    /// The estimate now and whether it meets the tolerance. Allocates nothing.
    pub fn check(&mut self) -> Check {
        let p = &self.params.params;
        let k = self.sums.len();
        if k < p.min_blocks {
            return Check {
                verdict: Verdict::TooFewBlocks {
                    blocks: k,
                    needed: p.min_blocks,
                },
                estimate: None,
            };
        }
        let chosen = self.choose_start();
        let estimate = self.estimate(&chosen);
        let verdict = self.judge(&estimate);
        Check {
            verdict,
            estimate: Some(estimate),
        }
    }

    fn judge(&self, e: &Estimate) -> Verdict {
        let p = &self.params.params;
        if e.frames < p.min_frames {
            return Verdict::TooFewFrames {
                frames: e.frames,
                needed: p.min_frames,
            };
        }
        let (Some(width), Some(drift)) = (e.relative_half_width, e.relative_drift) else {
            return Verdict::ZeroMean;
        };
        if width > p.tolerance {
            Verdict::TooWide {
                relative_half_width: width,
                tolerance: p.tolerance,
            }
        } else if drift > p.drift_tolerance {
            Verdict::Drifting {
                relative_drift: drift,
                tolerance: p.drift_tolerance,
            }
        } else {
            Verdict::Converged
        }
    }

    /// The latest candidate t0 (in blocks): at most `max_discard` of the blocks, at least
    /// `min_blocks` left.
    fn last_candidate(&self) -> usize {
        let p = &self.params.params;
        let k = self.sums.len();
        ((k as f64 * p.max_discard).floor() as usize).min(k - p.min_blocks)
    }

    /// Fills `means` and `suffix` (suffix[i] = Σ means[i..]).
    fn prepare(&mut self) {
        let b = self.block as f64;
        let k = self.sums.len();
        self.means.clear();
        self.means.extend(self.sums.iter().map(|s| s / b));
        self.suffix.clear();
        self.suffix.resize(k + 1, 0.0);
        for i in (0..k).rev() {
            self.suffix[i] = self.suffix[i + 1] + self.means[i];
        }
    }

    fn choose_start(&mut self) -> Candidate {
        self.prepare();
        let last = self.last_candidate();
        match self.params.params.equilibration {
            Equilibration::Mser => {
                let start = self.mser_start(last);
                self.backward_pass(start, start)
            }
            Equilibration::MaxEffectiveSamples => self.backward_pass(0, last),
        }
    }

    /// MSER over block means: the j in [0, last] minimising Σ_{i≥j}(y_i − ȳ_j)² / (K − j)².
    fn mser_start(&self, last: usize) -> usize {
        let k = self.means.len();
        let (mut best, mut best_j) = (f64::INFINITY, 0);
        let mut squares = 0.0;
        for j in (0..k).rev() {
            squares += self.means[j] * self.means[j];
            if j <= last {
                let kk = (k - j) as f64;
                let mean = self.suffix[j] / kk;
                let ss = (squares - kk * mean * mean).max(0.0);
                let mser = ss / (kk * kk);
                // `<=`: on a tie the earlier start (more frames) wins.
                if mser <= best {
                    (best, best_j) = (mser, j);
                }
            }
        }
        best_j
    }

    /// One pass from the last block back to `lo`, accumulating the lag products Σ y_i·y_{i+l}
    /// of the blocks from j on; at each j in [lo, hi] Geyer's factor of the blocks [j, K) is
    /// computed, and the j with the most effective samples is kept (the earliest on a tie).
    fn backward_pass(&mut self, lo: usize, hi: usize) -> Candidate {
        let k = self.means.len();
        let b = self.block as f64;
        let max_lag = self.params.params.capacity / 2;
        self.lags.clear();
        self.lags.resize(max_lag + 1, 0.0);
        let mut squares = 0.0;
        let mut best: Option<(f64, Candidate)> = None;
        for j in (lo..k).rev() {
            let yj = self.means[j];
            for (l, acc) in self.lags.iter_mut().enumerate().take(k - j) {
                *acc += yj * self.means[j + l];
            }
            squares += self.squares[j];
            if j > hi {
                continue;
            }
            let (gamma0, factor) = geyer(&self.means, &self.suffix, &self.lags, j);
            let n = (k - j) as f64 * b;
            let sum = self.suffix[j] * b;
            let var = ((squares - sum * sum / n) / (n - 1.0)).max(0.0);
            let effective = n / inefficiency(b, gamma0, factor, var);
            if best.as_ref().is_none_or(|(e, _)| effective >= *e) {
                best = Some((
                    effective,
                    Candidate {
                        start: j,
                        gamma0,
                        factor,
                    },
                ));
            }
        }
        best.map(|(_, c)| c)
            .expect("lo <= hi < K: at least one candidate")
    }

    /// The estimate over frames [t0, n), the partial block included in mean, sd and halves.
    fn estimate(&self, c: &Candidate) -> Estimate {
        let p = &self.params;
        let k = self.sums.len();
        let b = self.block;
        let j = c.start;
        let start = j as u64 * b;
        let n = self.frames - start;
        let nf = n as f64;
        let sum = self.sums[j..].iter().sum::<f64>() + self.part_sum;
        let sq = self.squares[j..].iter().sum::<f64>() + self.part_squares;
        let shifted = sum / nf;
        let mean = self.shift + shifted;
        let var = ((sq - sum * shifted) / (nf - 1.0)).max(0.0);
        let g = inefficiency(b as f64, c.gamma0, c.factor, var);
        let sd = var.sqrt();
        let half_width = p.z * sd * (g / nf).sqrt();
        // Halves split at the block boundary nearest (t0 + n) / 2, within [j + 1, K].
        let split = (j + ((nf / 2.0) / b as f64).round() as usize).clamp(j + 1, k);
        let first: f64 = self.sums[j..split].iter().sum();
        let second = sum - first;
        let first_n = ((split - j) as u64 * b) as f64;
        let first_half_mean = self.shift + first / first_n;
        let second_half_mean = self.shift + second / (nf - first_n);
        let relative = |x: f64| (mean != 0.0).then(|| x / mean.abs());
        Estimate {
            frames: self.frames,
            start,
            mean,
            sd,
            inefficiency: g,
            effective_samples: nf / g,
            half_width,
            level: p.params.level,
            relative_half_width: relative(half_width),
            first_half_mean,
            second_half_mean,
            relative_drift: relative((second_half_mean - first_half_mean).abs()),
            block_size: b,
            blocks: k - j,
        }
    }
}

/// γ0 (1/K' normalisation) of the block means [j, K) and Geyer's initial monotone sequence
/// factor (−γ0 + 2 Σ Γ_m) / γ0, Γ_m = γ(2m) + γ(2m+1) summed while positive and not rising.
/// `lags[l]` = Σ_{i=j}^{K−1−l} y_i·y_{i+l}, `suffix[i]` = Σ y[i..].
fn geyer(means: &[f64], suffix: &[f64], lags: &[f64], j: usize) -> (f64, f64) {
    let k = means.len();
    let kk = k - j;
    let m = suffix[j] / kk as f64;
    let gamma = |l: usize| {
        // Σ (y_i − m)(y_{i+l} − m) over i in [j, K − l), expanded over the running sums.
        let head = suffix[j] - suffix[k - l];
        let tail = suffix[j + l];
        (lags[l] - m * (head + tail) + (kk - l) as f64 * m * m) / kk as f64
    };
    let gamma0 = gamma(0).max(0.0);
    if gamma0 <= 0.0 {
        return (0.0, 1.0);
    }
    let max_lag = (kk - 1).min(lags.len() - 1);
    let mut total = -gamma0;
    let mut previous = f64::INFINITY;
    let mut l = 0;
    while l < max_lag {
        let pair = (gamma(l) + gamma(l + 1)).min(previous);
        if pair <= 0.0 {
            break;
        }
        total += 2.0 * pair;
        previous = pair;
        l += 2;
    }
    (gamma0, (total / gamma0).max(1.0 / kk as f64))
}

/// Statistical inefficiency of frames from block statistics: b·γ0·f / σ², at least 1; 1 when the
/// frames do not vary.
fn inefficiency(block: f64, gamma0: f64, factor: f64, var: f64) -> f64 {
    if var > 0.0 {
        (block * gamma0 * factor / var).max(1.0)
    } else {
        1.0
    }
}

/// The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        // Box–Muller.
        let (u, v): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// AR(1) x_t = φ x_{t−1} + e_t, started from its stationary law, plus `level`.
    fn ar1(n: usize, phi: f64, level: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = normal(&mut rng) / (1.0 - phi * phi).sqrt();
        (0..n)
            .map(|_| {
                let v = level + x;
                x = phi * x + normal(&mut rng);
                v
            })
            .collect()
    }

    fn estimator(p: ConvergenceParams) -> Convergence {
        Convergence::new(p.validate().unwrap())
    }

    fn run(c: &mut Convergence, xs: &[f64]) -> Check {
        for &x in xs {
            c.push(x).unwrap();
        }
        c.check()
    }

    #[test]
    fn z_of_common_levels() {
        for (level, z) in [(0.9, 1.6448536), (0.95, 1.9599640), (0.5, 0.6744898)] {
            let v = ConvergenceParams {
                level,
                ..Default::default()
            }
            .validate()
            .unwrap();
            assert!((v.z() - z).abs() < 1e-6, "{level}: {}", v.z());
        }
        assert!((normal_quantile(0.001) + 3.0902323).abs() < 1e-6);
    }

    #[test]
    fn bad_parameters_are_refused_naming_the_parameter() {
        let cases: [(ConvergenceParams, &str); 7] = [
            (
                ConvergenceParams {
                    tolerance: 0.0,
                    ..Default::default()
                },
                "tolerance",
            ),
            (
                ConvergenceParams {
                    tolerance: f64::NAN,
                    ..Default::default()
                },
                "tolerance",
            ),
            (
                ConvergenceParams {
                    drift_tolerance: -0.1,
                    ..Default::default()
                },
                "drift tolerance",
            ),
            (
                ConvergenceParams {
                    level: 1.0,
                    ..Default::default()
                },
                "level",
            ),
            (
                ConvergenceParams {
                    min_blocks: 4,
                    ..Default::default()
                },
                "min_blocks",
            ),
            (
                ConvergenceParams {
                    max_discard: 0.0,
                    ..Default::default()
                },
                "max_discard",
            ),
            (
                ConvergenceParams {
                    capacity: 63,
                    ..Default::default()
                },
                "capacity",
            ),
        ];
        for (p, what) in cases {
            let msg = p.validate().unwrap_err().to_string();
            assert!(msg.contains(what), "{msg}");
        }
    }

    #[test]
    fn non_finite_frames_are_refused_and_change_nothing() {
        let mut c = estimator(Default::default());
        let xs = ar1(300, 0.5, 10.0, 1);
        for &x in &xs {
            c.push(x).unwrap();
        }
        let before = c.check();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            match c.push(bad) {
                Err(Error::NonFinite { frame: 300, .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(c.frames(), 300);
        assert_eq!(c.check(), before);
    }

    #[test]
    fn too_few_blocks_give_no_estimate() {
        let mut c = estimator(Default::default());
        let check = run(&mut c, &[1.0; 15]);
        assert_eq!(
            check.verdict,
            Verdict::TooFewBlocks {
                blocks: 15,
                needed: 16
            }
        );
        assert!(check.estimate.is_none());
        c.push(1.0).unwrap();
        assert!(c.check().estimate.is_some());
    }

    #[test]
    fn mean_sd_and_halves_are_those_of_the_frames_after_t0() {
        // Lengths that leave a partial block, after several pairings.
        for n in [100, 257, 1000, 1789, 5003] {
            let xs = ar1(n, 0.7, 30.0, n as u64);
            let mut c = estimator(Default::default());
            let e = run(&mut c, &xs).estimate.unwrap();
            let t0 = e.start as usize;
            assert!(t0 <= n / 2, "t0 {t0} of {n}");
            let after = &xs[t0..];
            let m = after.iter().sum::<f64>() / after.len() as f64;
            let var = after.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (after.len() - 1) as f64;
            assert!((e.mean - m).abs() < 1e-9, "{n}: {} vs {m}", e.mean);
            assert!((e.sd - var.sqrt()).abs() < 1e-9, "{n}");
            let z = 1.6448536;
            let hw = z * var.sqrt() * (e.inefficiency / after.len() as f64).sqrt();
            assert!((e.half_width - hw).abs() < 1e-6 * hw, "{n}");
            // The halves split [t0, n) within one block of its middle.
            let mid = (t0 + n) / 2;
            let b = e.block_size as usize;
            let split = (t0..=n)
                .min_by_key(|&s| {
                    let m1 = xs[t0..s].iter().sum::<f64>() / (s - t0).max(1) as f64;
                    ((m1 - e.first_half_mean).abs() * 1e12) as u64
                })
                .unwrap();
            assert!(split.abs_diff(mid) <= b, "{n}: split {split}, middle {mid}");
            let m2 = xs[split..].iter().sum::<f64>() / (n - split) as f64;
            assert!((e.second_half_mean - m2).abs() < 1e-9, "{n}");
        }
    }

    #[test]
    fn ar1_statistical_inefficiency_is_recovered() {
        // g = (1 + φ) / (1 − φ) for an AR(1): 3, 9 and 19. From 128–256 block means one run's g
        // scatters by about 20 % (measured: sd/g 0.19–0.20 over 40 runs of 50 000 frames), and
        // is unbiased within a few per cent.
        for phi in [0.5, 0.8, 0.9] {
            let truth = (1.0 + phi) / (1.0 - phi);
            let ratios: Vec<f64> = (0..40)
                .map(|seed| {
                    let mut c = estimator(Default::default());
                    let e = run(&mut c, &ar1(50_000, phi, 5.0, seed)).estimate.unwrap();
                    e.inefficiency / truth
                })
                .collect();
            let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
            assert!((mean - 1.0).abs() < 0.08, "φ {phi}: mean g / truth {mean}");
            let close = ratios.iter().filter(|r| (0.6..1.4).contains(*r)).count();
            assert!(
                close >= 36,
                "φ {phi}: {close} of 40 within ±40 %: {ratios:?}"
            );
        }
    }

    #[test]
    fn ar1_interval_covers_the_mean_about_as_often_as_stated() {
        // 200 runs of 4000 frames, φ = 0.8: the 90 % interval should cover the true mean
        // in 0.82–0.97 of them (binomial spread of 200 draws around 0.9, plus estimation error).
        let covered = (0..200)
            .filter(|&seed| {
                let mut c = estimator(Default::default());
                let e = run(&mut c, &ar1(4000, 0.8, 5.0, 1000 + seed))
                    .estimate
                    .unwrap();
                let (lo, hi) = e.interval();
                lo <= 5.0 && 5.0 <= hi
            })
            .count();
        assert!((164..=194).contains(&covered), "covered {covered} / 200");
    }

    #[test]
    fn t0_lands_after_an_exponential_transient() {
        for equilibration in [Equilibration::MaxEffectiveSamples, Equilibration::Mser] {
            for seed in 0..5 {
                // 10 + 8·exp(−t/60) + AR(1) noise of sd ~1: the transient is below a tenth of
                // the noise from t ≈ 260 on.
                let noise = ar1(3000, 0.5, 0.0, 50 + seed);
                let xs: Vec<f64> = noise
                    .iter()
                    .enumerate()
                    .map(|(t, e)| 10.0 + 8.0 * (-(t as f64) / 60.0).exp() + e / 1.155)
                    .collect();
                let mut c = estimator(ConvergenceParams {
                    equilibration,
                    ..Default::default()
                });
                let check = run(&mut c, &xs);
                assert!(check.converged(), "{:?}", check.verdict);
                let e = check.estimate.unwrap();
                assert!(
                    (100..=1000).contains(&e.start),
                    "{equilibration:?} seed {seed}: t0 {}",
                    e.start
                );
                assert!((e.mean - 10.0).abs() < 0.15, "mean {}", e.mean);
                // Keeping the transient would have biased the mean upwards.
                let all = xs.iter().sum::<f64>() / xs.len() as f64;
                assert!(all - 10.0 > (e.mean - 10.0).abs());
            }
        }
    }

    #[test]
    fn a_linear_drift_is_never_declared_converged() {
        for equilibration in [Equilibration::MaxEffectiveSamples, Equilibration::Mser] {
            for seed in 0..5 {
                let noise = ar1(5000, 0.5, 0.0, 90 + seed);
                let mut c = estimator(ConvergenceParams {
                    equilibration,
                    ..Default::default()
                });
                for (t, e) in noise.iter().enumerate() {
                    c.push(0.01 * (t + 1) as f64 + 0.05 * e).unwrap();
                    if (t + 1) % 50 == 0 {
                        let check = c.check();
                        assert!(
                            !check.converged(),
                            "{equilibration:?} seed {seed}: converged at {} frames: {:?}",
                            t + 1,
                            check.estimate
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_noisy_run_needs_more_frames_and_min_frames_holds_a_stop() {
        let xs = ar1(4000, 0.5, 2.0, 7);
        let first_converged = |p: ConvergenceParams| {
            let mut c = estimator(p);
            xs.iter().enumerate().find_map(|(i, &x)| {
                c.push(x).unwrap();
                ((i + 1) % 50 == 0 && c.check().converged()).then_some(i + 1)
            })
        };
        let loose = first_converged(Default::default()).unwrap();
        let tight = first_converged(ConvergenceParams {
            tolerance: 0.05,
            ..Default::default()
        })
        .unwrap();
        assert!(tight > loose, "±5 % at {tight}, ±25 % at {loose}");
        let held = first_converged(ConvergenceParams {
            min_frames: 900,
            ..Default::default()
        })
        .unwrap();
        assert!(held >= 900);
        let mut c = estimator(ConvergenceParams {
            min_frames: 900,
            ..Default::default()
        });
        let check = run(&mut c, &xs[..loose]);
        assert_eq!(
            check.verdict,
            Verdict::TooFewFrames {
                frames: loose as u64,
                needed: 900
            }
        );
        assert!(check.estimate.is_some());
    }

    #[test]
    fn a_zero_mean_cannot_meet_a_relative_tolerance_and_constants_do() {
        let mut c = estimator(Default::default());
        let check = run(&mut c, &[0.0; 100]);
        assert_eq!(check.verdict, Verdict::ZeroMean);
        let mut c = estimator(Default::default());
        let check = run(&mut c, &[2.5; 100]);
        assert!(check.converged());
        let e = check.estimate.unwrap();
        assert_eq!((e.mean, e.half_width, e.inefficiency), (2.5, 0.0, 1.0));
    }

    #[test]
    fn reset_forgets_the_trace() {
        let xs = ar1(2000, 0.6, 3.0, 11);
        let mut fresh = estimator(Default::default());
        let want = run(&mut fresh, &xs);
        let mut c = estimator(Default::default());
        run(&mut c, &ar1(7000, 0.2, -50.0, 12));
        c.reset();
        assert_eq!(run(&mut c, &xs), want);
    }
}
