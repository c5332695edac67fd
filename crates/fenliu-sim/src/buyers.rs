//! The buyers of the day, drawn once per run and shared by every variant:
//! when each arrives and what it asks with. What a buyer does later
//! (patience, messages, return) is drawn from its own visit stream as the
//! run needs it, see [`Visit`].

use fenliu_core::{BuyerId, Inquiry, Millis};
use rand::rngs::SmallRng;
use rand::Rng;

use crate::dist::{poisson, unit};
use crate::scenario::{Arrivals, BuyerSpec, Scenario};
use crate::streams::{stream, Kind};

/// One buyer: its first arrival and what it asks with on every visit.
#[derive(Clone, Debug)]
pub struct Buyer {
    /// When it first asks.
    pub arrives_at: Millis,
    /// What it asks with.
    pub inquiry: Inquiry,
    /// How long after its chat ended it comes back, if it does.
    pub returns_after_ms: Option<Millis>,
}

/// What a buyer does on one visit, from stream (seed, buyer, 1 + visit).
#[derive(Debug)]
pub struct Visit {
    /// How long it waits in the queue before leaving.
    pub patience_ms: Millis,
    /// Messages it sends, the opening one included.
    pub messages: u32,
    /// The rest of the stream: the gaps before each later message.
    pub rng: SmallRng,
}

impl Visit {
    /// Buyer `index`'s visit `visit` (0: the first).
    pub fn draw(seed: u64, spec: &BuyerSpec, index: usize, visit: u8) -> Self {
        let mut rng = stream(seed, Kind::Buyer, index as u64, 1 + u64::from(visit));
        let patience_ms = spec.patience.sample_ms(&mut rng);
        let messages = spec.messages.sample(&mut rng);
        Self {
            patience_ms,
            messages,
            rng,
        }
    }
}

/// Every buyer of the day, by arrival (the index is the buyer's number).
pub fn draw(sc: &Scenario, seed: u64) -> Vec<Buyer> {
    let spec = &sc.buyers;
    let mut rng = stream(seed, Kind::Arrivals, 0, 0);
    let mut offsets = arrival_offsets(spec, &mut rng);
    offsets.sort_unstable();
    offsets
        .into_iter()
        .enumerate()
        .map(|(i, offset)| buyer(seed, spec, i, sc.day_start + offset))
        .collect()
}

fn arrival_offsets(spec: &BuyerSpec, rng: &mut SmallRng) -> Vec<Millis> {
    let in_piece =
        |rng: &mut SmallRng, start: Millis, len: Millis| start + (unit(rng) * len as f64) as Millis;
    match spec.arrivals {
        Arrivals::Poisson => {
            let n = poisson(rng, f64::from(spec.inquiries));
            let total: f64 = spec.curve.iter().map(|p| p.share).sum();
            (0..n)
                .map(|_| {
                    let mut left = unit(rng) * total;
                    let piece = spec
                        .curve
                        .iter()
                        .find(|p| {
                            let hit = left < p.share;
                            left -= p.share;
                            hit
                        })
                        .or_else(|| spec.curve.iter().rev().find(|p| p.share > 0.0))
                        .copied()
                        .unwrap_or(spec.curve[0]);
                    in_piece(rng, piece.start_ms, piece.len_ms)
                })
                .collect()
        }
        Arrivals::Exact => {
            let counts = apportion(spec.inquiries, spec.curve.iter().map(|p| p.share));
            let mut out = Vec::with_capacity(spec.inquiries as usize);
            for (piece, count) in spec.curve.iter().zip(counts) {
                out.extend((0..count).map(|_| in_piece(rng, piece.start_ms, piece.len_ms)));
            }
            out
        }
    }
}

/// `n` split by `shares` (largest remainder; ties to the earlier piece).
fn apportion(n: u32, shares: impl Iterator<Item = f64>) -> Vec<u32> {
    let shares: Vec<f64> = shares.collect();
    let total: f64 = shares.iter().sum();
    let exact: Vec<f64> = shares.iter().map(|s| f64::from(n) * s / total).collect();
    let mut counts: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = n - counts.iter().sum::<u32>();
    let mut by_remainder: Vec<usize> = (0..exact.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for i in by_remainder {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

/// Buyer `index`'s attributes, from stream (seed, buyer, 0).
fn buyer(seed: u64, spec: &BuyerSpec, index: usize, arrives_at: Millis) -> Buyer {
    let mut rng = stream(seed, Kind::Buyer, index as u64, 0);
    let buyer_id = BuyerId::parse(&format!("b{index}")).expect("a short ascii buyer id is valid");
    let inquiry = Inquiry {
        buyer_id,
        entry: spec.entries.pick(&mut rng),
        question: spec.questions.pick(&mut rng),
        order_state: spec.order_states.pick(&mut rng),
        product_id: spec.products.pick(&mut rng),
        intent: spec.intents.pick(&mut rng),
        priority: Default::default(),
    };
    let returns = rng.random::<f64>() < spec.return_probability;
    let after = spec.return_after.sample_ms(&mut rng);
    // Drawn last, so that the draws before it do not depend on it.
    let inquiry = Inquiry {
        priority: spec.priorities.pick(&mut rng),
        ..inquiry
    };
    Buyer {
        arrives_at,
        inquiry,
        returns_after_ms: returns.then_some(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioning_keeps_the_total_and_the_shares() {
        assert_eq!(apportion(10, [0.5, 0.25, 0.25].into_iter()), vec![5, 3, 2]);
        assert_eq!(apportion(7, [1.0, 0.0].into_iter()), vec![7, 0]);
    }
}
