//! Indexes that make a routing decision cost O(log n) in the number of agents.
//!
//! Agents are referred to by a dense slot number. A [`Pool`] (the whole shop,
//! or one group) keeps its online agents ordered by saturation, in buckets of
//! equal keys so that a tie is broken uniformly at random in O(1). Under the
//! `even` strategy it also keeps its available agents ordered by (assigned
//! today, saturation), and under `weighted` a Fenwick tree of effective
//! weights. Only the strategy in force has its index: every
//! assignment moves the agent in each index it is in, and the (assigned
//! today, saturation) order, with a key of its own for almost every agent, was
//! the dearest of them. Changing the strategy rebuilds the pools. None of this
//! is stored: it is rebuilt from the agents.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use rand::Rng;

use crate::agent::{AgentStatus, Saturation};
use crate::settings::Strategy;

/// An agent's slot in the indexes.
pub type Slot = u32;

/// Hashes a slot by one multiplication.
///
/// Slots are small dense integers chosen by the shop, not by a client, so
/// SipHash's protection against chosen keys buys nothing here, and it was a
/// visible share of every index update (a decision touches the shop pool and
/// each group pool of the picked agent, several lookups each).
#[derive(Clone, Copy, Debug, Default)]
pub struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32` is used for slots; this keeps the hasher total.
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        // Fibonacci hashing: spreads dense integers over the high bits, which
        // the hash table uses as tags, while the low bits stay distinct.
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by slot.
pub type SlotMap<V> = HashMap<Slot, V, BuildHasherDefault<SlotHasher>>;

/// Emptied buckets kept for reuse by one [`TieIndex`].
///
/// An agent taking or ending one conversation moves between two saturation
/// keys, and often one bucket empties while another is created; reusing the
/// emptied vector saves an allocation and a free on most load changes.
const SPARE_BUCKETS: usize = 4;

/// Keys kept in buckets of equal keys, with the position of every slot.
#[derive(Clone, Debug)]
pub struct TieIndex<K: Ord + Copy> {
    buckets: BTreeMap<K, Vec<Slot>>,
    pos: SlotMap<(K, usize)>,
    spare: Vec<Vec<Slot>>,
}

impl<K: Ord + Copy> Default for TieIndex<K> {
    fn default() -> Self {
        Self {
            buckets: BTreeMap::new(),
            pos: SlotMap::default(),
            spare: Vec::new(),
        }
    }
}

impl<K: Ord + Copy> TieIndex<K> {
    /// Number of slots indexed.
    pub fn len(&self) -> usize {
        self.pos.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.pos.is_empty()
    }

    /// Puts `slot` under `key`, or removes it with `None`.
    pub fn set(&mut self, slot: Slot, key: Option<K>) {
        let old = self.pos.get(&slot).copied();
        if let Some((old_key, at)) = old {
            if Some(old_key) == key {
                return;
            }
            self.detach(old_key, at);
        }
        match key {
            Some(key) => {
                let spare = &mut self.spare;
                let bucket = self
                    .buckets
                    .entry(key)
                    .or_insert_with(|| spare.pop().unwrap_or_default());
                bucket.push(slot);
                // Overwrites the old position, if any.
                self.pos.insert(slot, (key, bucket.len() - 1));
            }
            None if old.is_some() => {
                self.pos.remove(&slot);
            }
            None => {}
        }
    }

    /// Takes the slot at `at` out of the bucket of `key` (by swap-remove, so
    /// the last slot of the bucket moves to `at`); leaves `pos` of the
    /// removed slot to the caller.
    fn detach(&mut self, key: K, at: usize) {
        let Entry::Occupied(mut entry) = self.buckets.entry(key) else {
            unreachable!("indexed key has a bucket");
        };
        let bucket = entry.get_mut();
        bucket.swap_remove(at);
        if let Some(&moved) = bucket.get(at) {
            self.pos.insert(moved, (key, at));
        }
        if bucket.is_empty() {
            let empty = entry.remove();
            if self.spare.len() < SPARE_BUCKETS {
                self.spare.push(empty);
            }
        }
    }

    /// Every key and the slots under it, lowest key first.
    pub fn iter(&self) -> impl Iterator<Item = (K, &[Slot])> + '_ {
        self.buckets.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// The lowest key and every slot under it.
    pub fn first(&self) -> Option<(K, &[Slot])> {
        self.buckets.iter().next().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Whether `slot` is indexed.
    pub fn contains(&self, slot: Slot) -> bool {
        self.pos.contains_key(&slot)
    }
}

/// Weights of a pool's available members, for drawing one in proportion to
/// its weight: a Fenwick tree over the members in the order they came (one
/// that leaves gives its place to the last), so that its size follows the
/// pool's, not the shop's, and a group or a rule can keep one.
#[derive(Clone, Debug, Default)]
pub struct WeightTree {
    tree: Vec<f64>,
    /// Weight by place.
    values: Vec<f64>,
    /// Slot by place.
    slots: Vec<Slot>,
    /// Place by slot.
    place: SlotMap<usize>,
}

impl WeightTree {
    /// Sets the weight of `slot`; zero takes it out.
    pub fn set(&mut self, slot: Slot, weight: f64) {
        match (self.place.get(&slot).copied(), weight > 0.0) {
            (Some(at), true) => self.put(at, weight),
            (Some(at), false) => self.take_out(slot, at),
            (None, true) => {
                let at = self.slots.len();
                self.slots.push(slot);
                self.values.push(0.0);
                self.place.insert(slot, at);
                if at >= self.tree.len() {
                    self.grow();
                }
                self.put(at, weight);
            }
            (None, false) => {}
        }
    }

    /// Sets the weight at place `at`.
    fn put(&mut self, at: usize, weight: f64) {
        let delta = weight - self.values[at];
        if delta == 0.0 {
            return;
        }
        self.values[at] = weight;
        let mut j = at + 1;
        while j <= self.tree.len() {
            self.tree[j - 1] += delta;
            j += j & j.wrapping_neg();
        }
    }

    /// Takes `slot` (at place `at`) out; the last place moves into its own.
    fn take_out(&mut self, slot: Slot, at: usize) {
        let last = self.slots.len() - 1;
        if at != last {
            let (moved, weight) = (self.slots[last], self.values[last]);
            self.put(at, weight);
            self.slots[at] = moved;
            self.place.insert(moved, at);
        }
        self.put(last, 0.0);
        self.slots.pop();
        self.values.pop();
        self.place.remove(&slot);
    }

    /// Rebuilds the tree with room for twice as many places.
    fn grow(&mut self) {
        let len = (self.tree.len() * 2).max(16);
        self.tree = vec![0.0; len];
        // The linear build: each node adds its sum into its parent.
        for i in 0..len {
            self.tree[i] += self.values.get(i).copied().unwrap_or(0.0);
            let j = i + 1;
            let parent = j + (j & j.wrapping_neg());
            if parent <= len {
                let carried = self.tree[i];
                self.tree[parent - 1] += carried;
            }
        }
    }

    /// Sum of all weights.
    pub fn total(&self) -> f64 {
        let mut sum = 0.0;
        let mut n = self.tree.len();
        while n > 0 {
            sum += self.tree[n - 1];
            n &= n - 1;
        }
        sum
    }

    /// Draws a slot with probability proportional to its weight.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Slot> {
        let total = self.total();
        if total <= 0.0 || self.slots.is_empty() {
            return None;
        }
        let mut target = rng.random::<f64>() * total;
        let mut pos = 0usize;
        let mut step = self.tree.len().next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= self.tree.len() && self.tree[next - 1] <= target {
                target -= self.tree[next - 1];
                pos = next;
            }
            step >>= 1;
        }
        // Float rounding may land past the last place or on a zero weight;
        // walk to the nearest real one.
        let last = self.values.len() - 1;
        let pos = pos.min(last);
        (pos..self.values.len())
            .chain((0..pos).rev())
            .find(|&i| self.values[i] > 0.0)
            .map(|i| self.slots[i])
    }

    /// Number of slots with a weight.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no slot has a weight.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The index key of the `even` strategy.
pub type EvenKey = (u32, Saturation);

/// What a pool knows of one member.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberState {
    /// Status.
    pub status: AgentStatus,
    /// Saturation.
    pub saturation: Saturation,
    /// Assigned today.
    pub assigned_today: u32,
    /// Weight after the busy penalty.
    pub effective_weight: f64,
}

impl MemberState {
    fn available(&self) -> bool {
        self.status == AgentStatus::Online && self.saturation.load < self.saturation.max
    }
}

/// A set of agents (the shop, or a group) with its routing indexes.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    /// Status of each member, and whether it is available.
    members: SlotMap<(AgentStatus, bool)>,
    /// Online agents by saturation.
    pub online: TieIndex<Saturation>,
    /// Available agents by (assigned today, saturation); kept under `even`.
    pub even: Option<TieIndex<EvenKey>>,
    /// Effective weights of available agents; kept under `weighted`.
    pub weights: Option<WeightTree>,
    counts: [u32; 3],
    available: usize,
}

fn status_index(s: AgentStatus) -> usize {
    match s {
        AgentStatus::Online => 0,
        AgentStatus::Busy => 1,
        AgentStatus::Offline => 2,
    }
}

impl Pool {
    /// An empty pool with the indexes `strategy` picks from.
    pub fn new(strategy: Strategy) -> Self {
        let mut pool = Self::default();
        pool.keep_for(strategy);
        pool
    }

    /// Keeps the indexes `strategy` picks from. An index that is new starts
    /// empty: the caller upserts every member again.
    pub fn keep_for(&mut self, strategy: Strategy) {
        let even = strategy == Strategy::Even;
        if even != self.even.is_some() {
            self.even = even.then(TieIndex::default);
        }
        let weights = strategy == Strategy::Weighted;
        if weights != self.weights.is_some() {
            self.weights = weights.then(WeightTree::default);
        }
    }

    /// Adds or updates a member.
    pub fn upsert(&mut self, slot: Slot, m: MemberState) {
        let available = m.available();
        if let Some((old, was_available)) = self.members.insert(slot, (m.status, available)) {
            self.counts[status_index(old)] -= 1;
            self.available -= usize::from(was_available);
        }
        self.counts[status_index(m.status)] += 1;
        self.available += usize::from(available);
        let online = m.status == AgentStatus::Online;
        self.online.set(slot, online.then_some(m.saturation));
        if let Some(even) = &mut self.even {
            even.set(slot, available.then_some((m.assigned_today, m.saturation)));
        }
        if let Some(w) = &mut self.weights {
            w.set(slot, if available { m.effective_weight } else { 0.0 });
        }
    }

    /// Removes a member.
    pub fn remove(&mut self, slot: Slot) {
        if let Some((old, was_available)) = self.members.remove(&slot) {
            self.counts[status_index(old)] -= 1;
            self.available -= usize::from(was_available);
        }
        self.online.set(slot, None);
        if let Some(even) = &mut self.even {
            even.set(slot, None);
        }
        if let Some(w) = &mut self.weights {
            w.set(slot, 0.0);
        }
    }

    /// Members with this status.
    pub fn count(&self, status: AgentStatus) -> u32 {
        self.counts[status_index(status)]
    }

    /// Every member.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// No member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Available members.
    pub fn available(&self) -> usize {
        self.available
    }

    /// Whether `slot` is a member.
    pub fn contains(&self, slot: Slot) -> bool {
        self.members.contains_key(&slot)
    }

    /// Every member slot, in no particular order.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.members.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn tie_index_keeps_equal_keys_in_one_bucket() {
        let mut idx = TieIndex::<u32>::default();
        idx.set(1, Some(5));
        idx.set(2, Some(5));
        idx.set(3, Some(7));
        assert_eq!(idx.first().unwrap().1.len(), 2);
        idx.set(1, Some(9));
        assert_eq!(idx.first().unwrap().1, &[2]);
        idx.set(2, None);
        assert_eq!(idx.first().unwrap(), (7, &[3][..]));
        assert_eq!(idx.len(), 2);
    }

    #[test]
    fn weight_tree_samples_in_proportion() {
        let mut t = WeightTree::default();
        t.set(0, 1.0);
        t.set(5, 3.0);
        let mut rng = SmallRng::seed_from_u64(7);
        let heavy = (0..4000).filter(|_| t.sample(&mut rng) == Some(5)).count();
        assert!((2800..3200).contains(&heavy), "{heavy}");
        t.set(5, 0.0);
        assert!((0..100).all(|_| t.sample(&mut rng) == Some(0)));
    }

    /// Random weights set and taken out, against a plain map: the total, the
    /// members, and draws only of members, in proportion.
    #[test]
    fn weight_tree_follows_its_members_as_they_come_and_go() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut t = WeightTree::default();
        let mut model: std::collections::BTreeMap<Slot, f64> = Default::default();
        for step in 0..5_000 {
            let slot = rng.random_range(0..200);
            let weight = if rng.random_bool(0.3) {
                0.0
            } else {
                f64::from(rng.random_range(1..6u32))
            };
            t.set(slot, weight);
            if weight > 0.0 {
                model.insert(slot, weight);
            } else {
                model.remove(&slot);
            }
            assert_eq!(t.len(), model.len());
            let total: f64 = model.values().sum();
            assert!(
                (t.total() - total).abs() < 1e-6,
                "{step}: {} vs {total}",
                t.total()
            );
            if let Some(drawn) = t.sample(&mut rng) {
                assert!(model.contains_key(&drawn), "{step}: drew {drawn}");
            } else {
                assert!(model.is_empty());
            }
        }
        // Proportions over the members left.
        let total: f64 = model.values().sum();
        let (&heaviest, &w) = model
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("members left");
        let draws = 40_000;
        let got = (0..draws)
            .filter(|_| t.sample(&mut rng) == Some(heaviest))
            .count();
        let expected = draws as f64 * w / total;
        assert!(
            (got as f64 - expected).abs() < expected * 0.2,
            "{got} vs {expected}"
        );
    }
}
