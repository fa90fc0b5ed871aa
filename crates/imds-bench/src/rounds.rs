//! Interleaved rounds: every variant runs once per round, in an order that
//! changes from round to round, so drift on a shared machine and any cost
//! of going first fall on all of them alike. Ratios are taken within a
//! round and summarised by their median, which one disturbed round moves
//! little.

use std::time::Duration;

use tower::BoxError;

use crate::load::Batch;
use crate::measure::{self, Samples};

/// The order of `n` variants in round `round`: rotated every other round
/// and reversed every odd one. Two variants alternate (0 1, 1 0, 1 0,
/// 0 1, ...); three go through all six orders in six rounds.
pub fn order(round: usize, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if n == 0 {
        return order;
    }
    order.rotate_left((round / 2) % n);
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// All variants' batches at one concurrency.
#[derive(Debug)]
pub struct Comparison {
    /// Every read of each variant, all rounds together.
    pub samples: Vec<Samples>,
    /// Each variant's wall time, all rounds together.
    pub elapsed: Vec<Duration>,
    /// Per round, each variant's mean latency.
    round_means: Vec<Vec<Duration>>,
    /// Per round, each variant's wall time.
    round_elapsed: Vec<Vec<Duration>>,
}

impl Comparison {
    fn new(n: usize) -> Self {
        Self {
            samples: (0..n).map(|_| Samples::default()).collect(),
            elapsed: vec![Duration::ZERO; n],
            round_means: Vec::new(),
            round_elapsed: Vec::new(),
        }
    }

    fn add_round(&mut self, mut batches: Vec<Batch>) {
        self.round_means
            .push(batches.iter().map(|b| b.samples.mean()).collect());
        self.round_elapsed
            .push(batches.iter().map(|b| b.elapsed).collect());
        for (i, batch) in batches.iter_mut().enumerate() {
            self.elapsed[i] += batch.elapsed;
            self.samples[i].append(&mut batch.samples);
        }
    }

    /// The median over rounds of variant `i`'s mean latency / variant
    /// `base`'s.
    pub fn mean_ratio(&self, i: usize, base: usize) -> f64 {
        let ratios: Vec<f64> = self
            .round_means
            .iter()
            .map(|round| measure::ratio(round[i], round[base]))
            .collect();
        measure::median(&ratios)
    }

    /// The median over rounds of variant `i`'s wall time / variant
    /// `base`'s: how many times more time `i` needs for the same reads,
    /// which is `base`'s throughput / `i`'s.
    pub fn time_ratio(&self, i: usize, base: usize) -> f64 {
        let ratios: Vec<f64> = self
            .round_elapsed
            .iter()
            .map(|round| measure::ratio(round[i], round[base]))
            .collect();
        measure::median(&ratios)
    }

    /// Reads per second of variant `i`, all rounds together.
    pub fn throughput(&self, i: usize) -> f64 {
        let secs = self.elapsed[i].as_secs_f64();
        if secs == 0.0 {
            return f64::NAN;
        }
        self.samples[i].len() as f64 / secs
    }
}

/// `rounds` rounds of `n` variants; `run(i)` runs variant `i`'s batch.
pub async fn interleaved(
    rounds: usize,
    n: usize,
    mut run: impl AsyncFnMut(usize) -> Result<Batch, BoxError>,
) -> Result<Comparison, BoxError> {
    let mut comparison = Comparison::new(n);
    for round in 0..rounds {
        let mut batches: Vec<Option<Batch>> = (0..n).map(|_| None).collect();
        for i in order(round, n) {
            batches[i] = Some(run(i).await?);
        }
        comparison.add_round(batches.into_iter().map(|b| b.unwrap_or_default()).collect());
    }
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_variants_alternate_and_three_take_every_order() {
        let two: Vec<_> = (0..4).map(|r| order(r, 2)).collect();
        assert_eq!(two, [vec![0, 1], vec![1, 0], vec![1, 0], vec![0, 1]]);
        let mut three: Vec<_> = (0..6).map(|r| order(r, 3)).collect();
        three.sort();
        three.dedup();
        assert_eq!(three.len(), 6);
    }

    #[tokio::test]
    async fn ratios_are_per_round_medians() {
        let comparison = interleaved(3, 2, async |i| {
            let mut samples = Samples::default();
            samples.push(Duration::from_micros(100 * (i as u64 + 1)));
            Ok(Batch {
                samples,
                elapsed: Duration::from_millis(10 * (i as u64 + 1)),
            })
        })
        .await
        .unwrap();
        assert_eq!(comparison.mean_ratio(0, 0), 1.0);
        assert_eq!(comparison.mean_ratio(1, 0), 2.0);
        assert_eq!(comparison.time_ratio(1, 0), 2.0);
        assert_eq!(comparison.time_ratio(0, 1), 0.5);
        assert_eq!(comparison.samples[1].len(), 3);
        assert!((comparison.throughput(0) - 100.0).abs() < 1e-9);
    }
}
