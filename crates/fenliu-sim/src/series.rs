//! Values over the day in five-minute bins, for charts and for figures of
//! a part of the day (an agent's peak saturation between 12:00 and 13:00).

use fenliu_core::Millis;

/// Width of one bin.
pub const BIN_MS: Millis = 5 * 60_000;
/// Bins in a day.
pub const BINS: usize = (86_400_000 / BIN_MS) as usize;

/// A step function of the day (it holds its value until the next change),
/// kept as its maximum over each bin.
#[derive(Clone, Debug, PartialEq)]
pub struct StepSeries {
    max: Vec<f64>,
    current: f64,
    /// The bin of the last change: the bins before it are final.
    at: usize,
}

impl Default for StepSeries {
    fn default() -> Self {
        Self {
            max: vec![0.0; BINS],
            current: 0.0,
            at: 0,
        }
    }
}

impl StepSeries {
    /// The value becomes `value` at `offset_ms` after 00:00 (changes before
    /// the day count from its first bin, those after it are not kept).
    pub fn set(&mut self, offset_ms: Millis, value: f64) {
        let bin = usize::try_from(offset_ms.max(0) / BIN_MS)
            .unwrap_or(BINS)
            .min(BINS);
        self.carry_to(bin);
        if bin < BINS {
            self.max[bin] = self.max[bin].max(value);
        }
        self.current = value;
    }

    /// The value held until the end of the day is carried into every bin.
    pub fn finish(&mut self) {
        self.carry_to(BINS);
    }

    fn carry_to(&mut self, bin: usize) {
        for b in self.at..bin.min(BINS) {
            self.max[b] = self.max[b].max(self.current);
        }
        if bin < BINS {
            self.max[bin] = self.max[bin].max(self.current);
        }
        self.at = bin;
    }

    /// The maximum of each bin.
    pub fn bins(&self) -> &[f64] {
        &self.max
    }

    /// The maximum between two times of the day, minutes since 00:00
    /// (`start..end`).
    pub fn max_between(&self, start_min: u32, end_min: u32) -> f64 {
        let per_bin = (BIN_MS / 60_000) as u32;
        let (from, to) = (
            (start_min / per_bin) as usize,
            (end_min.div_ceil(per_bin) as usize).min(BINS),
        );
        self.max[from.min(to)..to]
            .iter()
            .copied()
            .fold(0.0, f64::max)
    }

    /// The maximum over the day.
    pub fn peak(&self) -> f64 {
        self.max.iter().copied().fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_held_until_it_changes() {
        let mut s = StepSeries::default();
        s.set(60 * 60_000, 0.5); // 01:00
        s.set(3 * 60 * 60_000, 0.2); // 03:00
        s.finish();
        assert_eq!(s.max_between(0, 60), 0.0);
        assert_eq!(s.max_between(120, 150), 0.5);
        assert_eq!(s.max_between(600, 660), 0.2);
        assert_eq!(s.peak(), 0.5);
    }
}
