//! Hand-rolled measurement: per-request latencies, their summary, and the
//! ratio of two variants measured in the same rounds.

use std::time::Duration;

/// Latencies of individual requests (or of whole bursts).
#[derive(Clone, Debug, Default)]
pub struct Samples {
    nanos: Vec<u64>,
}

impl Samples {
    /// Room for `capacity` samples.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            nanos: Vec::with_capacity(capacity),
        }
    }

    /// Adds one sample.
    pub fn push(&mut self, sample: Duration) {
        self.nanos
            .push(u64::try_from(sample.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Moves every sample of `other` into `self`.
    pub fn append(&mut self, other: &mut Samples) {
        self.nanos.append(&mut other.nanos);
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.nanos.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nanos.is_empty()
    }

    /// The mean (zero when empty).
    pub fn mean(&self) -> Duration {
        if self.nanos.is_empty() {
            return Duration::ZERO;
        }
        let total: u128 = self.nanos.iter().map(|&n| u128::from(n)).sum();
        let mean = total / self.nanos.len() as u128;
        Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX))
    }

    /// Count, mean and quantiles.
    pub fn summary(&self) -> Summary {
        let mut sorted = self.nanos.clone();
        sorted.sort_unstable();
        Summary {
            count: sorted.len(),
            mean: self.mean(),
            min: nearest_rank(&sorted, 0.0),
            p50: nearest_rank(&sorted, 0.50),
            p99: nearest_rank(&sorted, 0.99),
            max: nearest_rank(&sorted, 1.0),
        }
    }
}

/// The `q` quantile of `sorted` by the nearest-rank method (`q` = 0: the
/// minimum).
fn nearest_rank(sorted: &[u64], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Duration::from_nanos(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A set of samples in six numbers.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Their mean.
    pub mean: Duration,
    /// The smallest.
    pub min: Duration,
    /// The median (nearest rank).
    pub p50: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

/// `numerator / denominator` as a plain number.
pub fn ratio(numerator: Duration, denominator: Duration) -> f64 {
    if denominator.is_zero() {
        return f64::NAN;
    }
    numerator.as_secs_f64() / denominator.as_secs_f64()
}

/// The median of `values` (NaN when empty). Used on per-round ratios: one
/// round disturbed by a neighbour on the machine moves it little.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(micros: &[u64]) -> Samples {
        let mut s = Samples::default();
        for &m in micros {
            s.push(Duration::from_micros(m));
        }
        s
    }

    #[test]
    fn summary_uses_nearest_rank() {
        let s = samples(&(1..=100).rev().collect::<Vec<_>>()).summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.min, Duration::from_micros(1));
        assert_eq!(s.p50, Duration::from_micros(50));
        assert_eq!(s.p99, Duration::from_micros(99));
        assert_eq!(s.max, Duration::from_micros(100));
        assert_eq!(s.mean, Duration::from_nanos(50_500));
    }

    #[test]
    fn small_and_empty_sets() {
        let one = samples(&[7]).summary();
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
        let none = Samples::default().summary();
        assert_eq!(
            (none.count, none.mean, none.p99),
            (0, Duration::ZERO, Duration::ZERO)
        );
    }

    #[test]
    fn median_of_odd_even_and_with_nan() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 1.0]), 1.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratio_of_durations() {
        assert!(
            (ratio(Duration::from_micros(105), Duration::from_micros(100)) - 1.05).abs() < 1e-9
        );
        assert!(ratio(Duration::from_micros(1), Duration::ZERO).is_nan());
    }
}
