//! The distributions a scenario draws durations and counts from, and the
//! few samplers they need (rand 0.9 without `rand_distr`: exponential,
//! normal and Poisson are a few lines each).

use rand::Rng;
use serde::Deserialize;

/// Longest duration a distribution may be given, in seconds (a week).
pub const MAX_DIST_SECS: f64 = 604_800.0;

/// Most messages a chat may be given.
pub const MAX_MESSAGES: u32 = 1_000;

/// A duration in seconds, as written in a scenario: `{ dist = "exp", mean_secs = 40 }`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always `secs`.
    Fixed {
        /// The duration.
        secs: f64,
    },
    /// Uniform between `min_secs` and `max_secs`.
    Uniform {
        /// Lower bound.
        min_secs: f64,
        /// Upper bound.
        max_secs: f64,
    },
    /// Exponential with mean `mean_secs` (memoryless: patience, gaps).
    Exp {
        /// The mean.
        mean_secs: f64,
    },
    /// Log-normal: half the draws under `median_secs`, spread `sigma` (the
    /// standard deviation of the logarithm).
    Lognormal {
        /// The median.
        median_secs: f64,
        /// Spread of the logarithm, 0..=5.
        sigma: f64,
    },
}

impl Dist {
    /// Checks the parameters; the message names the parameter at fault.
    pub fn check(&self) -> Result<(), String> {
        let secs = |name: &str, v: f64, zero_ok: bool| {
            let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
            if v.is_finite() && low_ok && v <= MAX_DIST_SECS {
                Ok(())
            } else if zero_ok {
                Err(format!("{name}: {v} is not between 0 and {MAX_DIST_SECS}"))
            } else {
                Err(format!(
                    "{name}: {v} is not above 0 and at most {MAX_DIST_SECS}"
                ))
            }
        };
        match *self {
            Dist::Fixed { secs: s } => secs("secs", s, true),
            Dist::Uniform { min_secs, max_secs } => {
                secs("min_secs", min_secs, true)?;
                secs("max_secs", max_secs, true)?;
                if min_secs > max_secs {
                    return Err(format!("min_secs {min_secs} is above max_secs {max_secs}"));
                }
                Ok(())
            }
            Dist::Exp { mean_secs } => secs("mean_secs", mean_secs, false),
            Dist::Lognormal { median_secs, sigma } => {
                secs("median_secs", median_secs, false)?;
                if !(0.0..=5.0).contains(&sigma) {
                    return Err(format!("sigma: {sigma} is not between 0 and 5"));
                }
                Ok(())
            }
        }
    }

    /// One draw, in milliseconds, capped at [`MAX_DIST_SECS`].
    pub fn sample_ms<R: Rng + ?Sized>(&self, rng: &mut R) -> i64 {
        let secs = match *self {
            Dist::Fixed { secs } => secs,
            Dist::Uniform { min_secs, max_secs } => min_secs + (max_secs - min_secs) * unit(rng),
            Dist::Exp { mean_secs } => exponential(rng, mean_secs),
            Dist::Lognormal { median_secs, sigma } => median_secs * (sigma * normal(rng)).exp(),
        };
        (secs.min(MAX_DIST_SECS) * 1000.0).round() as i64
    }
}

/// A count, as written in a scenario: `{ dist = "uniform", min = 1, max = 6 }`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Count {
    /// Always `n`.
    Fixed {
        /// The count.
        n: u32,
    },
    /// Uniform over `min..=max`.
    Uniform {
        /// Lower bound.
        min: u32,
        /// Upper bound.
        max: u32,
    },
    /// 1 + a geometric count, with mean `mean` (at least 1): many short
    /// chats and a few long ones.
    Geometric {
        /// The mean.
        mean: f64,
    },
}

impl Count {
    /// Checks the parameters: every draw is 1..=[`MAX_MESSAGES`].
    pub fn check(&self) -> Result<(), String> {
        let bounded = |name: &str, v: u32| {
            if (1..=MAX_MESSAGES).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name}: {v} is not between 1 and {MAX_MESSAGES}"))
            }
        };
        match *self {
            Count::Fixed { n } => bounded("n", n),
            Count::Uniform { min, max } => {
                bounded("min", min)?;
                bounded("max", max)?;
                if min > max {
                    return Err(format!("min {min} is above max {max}"));
                }
                Ok(())
            }
            Count::Geometric { mean } => {
                if mean.is_finite() && (1.0..=f64::from(MAX_MESSAGES)).contains(&mean) {
                    Ok(())
                } else {
                    Err(format!("mean: {mean} is not between 1 and {MAX_MESSAGES}"))
                }
            }
        }
    }

    /// One draw, 1..=[`MAX_MESSAGES`].
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let n = match *self {
            Count::Fixed { n } => n,
            Count::Uniform { min, max } => rng.random_range(min..=max),
            Count::Geometric { mean } => {
                // Failures before the first success, with success chance 1/mean.
                if mean <= 1.0 {
                    1
                } else {
                    let p = 1.0 / mean;
                    let failures = ((1.0 - unit(rng)).ln() / (1.0 - p).ln()).floor();
                    1 + failures.min(f64::from(MAX_MESSAGES)) as u32
                }
            }
        };
        n.clamp(1, MAX_MESSAGES)
    }
}

/// Uniform in [0, 1).
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.random::<f64>()
}

/// Exponential with the given mean.
pub fn exponential<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> f64 {
    -mean * (1.0 - unit(rng)).ln()
}

/// Standard normal (Box–Muller; one of the pair is dropped so that every
/// call takes the same two draws).
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Poisson with the given mean: Knuth's product method below 30, the normal
/// approximation above (its error is far below the noise of a day).
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> u64 {
    if mean < 30.0 {
        let limit = (-mean).exp();
        let mut product = unit(rng);
        let mut n = 0;
        while product > limit {
            n += 1;
            product *= unit(rng);
        }
        n
    } else {
        (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn mean_of(n: usize, mut draw: impl FnMut() -> f64) -> f64 {
        (0..n).map(|_| draw()).sum::<f64>() / n as f64
    }

    #[test]
    fn samplers_have_the_means_they_are_given() {
        let mut rng = SmallRng::seed_from_u64(1);
        let exp = Dist::Exp { mean_secs: 40.0 };
        let m = mean_of(50_000, || exp.sample_ms(&mut rng) as f64 / 1000.0);
        assert!((m - 40.0).abs() < 1.0, "exp mean {m}");
        let logn = Dist::Lognormal {
            median_secs: 60.0,
            sigma: 0.5,
        };
        let mut draws: Vec<i64> = (0..20_001).map(|_| logn.sample_ms(&mut rng)).collect();
        draws.sort_unstable();
        let median = draws[10_000] as f64 / 1000.0;
        assert!((median - 60.0).abs() < 2.0, "lognormal median {median}");
        let geo = Count::Geometric { mean: 3.0 };
        let m = mean_of(50_000, || f64::from(geo.sample(&mut rng)));
        assert!((m - 3.0).abs() < 0.1, "geometric mean {m}");
        let m = mean_of(20_000, || poisson(&mut rng, 5.0) as f64);
        assert!((m - 5.0).abs() < 0.1, "poisson mean {m}");
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        let err = Dist::Uniform {
            min_secs: 9.0,
            max_secs: 3.0,
        }
        .check()
        .unwrap_err();
        assert_eq!(err, "min_secs 9 is above max_secs 3");
        assert!(Dist::Exp { mean_secs: 0.0 }
            .check()
            .unwrap_err()
            .starts_with("mean_secs"));
        assert!(Count::Fixed { n: 0 }.check().is_err());
    }
}
