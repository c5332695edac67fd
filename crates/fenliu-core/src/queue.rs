//! The queue's order (排队): queued conversations by queue key, with the rank
//! of any key in O(log n).
//!
//! The key of a queued conversation is stored with it; the order is rebuilt
//! from the keys. A buyer waiting in a long queue asks for its position again
//! and again, and counting the entries ahead of it in an ordered map was
//! linear in the queue's length. So the keys are kept in sorted blocks of at
//! most [`MAX_BLOCK`] entries, with a Fenwick tree of the block sizes: a rank
//! is a binary search for the block, a prefix sum over the blocks before it
//! and a binary search within it. New entries go to the back (or, put back
//! after their agent was deleted, to the front), and the queue is served from
//! one end, so blocks fill and empty at the ends; the tree is rebuilt when a
//! block splits or empties, which is once every [`MAX_BLOCK`] / 2 changes or
//! more.

use crate::ids::ConversationId;

/// A block splits in two when it grows beyond this many entries. Small
/// enough that taking an entry from the front of a block moves little
/// memory, large enough that the tree over the blocks stays small.
const MAX_BLOCK: usize = 256;

/// A Fenwick tree of block sizes.
#[derive(Clone, Debug, Default)]
struct Sizes {
    tree: Vec<u32>,
}

impl Sizes {
    fn rebuild(&mut self, blocks: &[Vec<(i64, ConversationId)>]) {
        self.tree.clear();
        self.tree.extend(blocks.iter().map(|b| b.len() as u32));
        for i in 0..self.tree.len() {
            let parent = i | (i + 1);
            if parent < self.tree.len() {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    fn add(&mut self, block: usize, delta: i32) {
        let mut i = block;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i |= i + 1;
        }
    }

    /// The block holding the entry of 0-based rank `rank` (which must be
    /// below the total), and the number of entries in the blocks before it.
    fn find(&self, rank: usize) -> (usize, usize) {
        let (mut block, mut left) = (0usize, rank);
        let mut step = self.tree.len().next_power_of_two();
        while step > 0 {
            let next = block + step;
            if next <= self.tree.len() && (self.tree[next - 1] as usize) <= left {
                left -= self.tree[next - 1] as usize;
                block = next;
            }
            step >>= 1;
        }
        (block, rank - left)
    }

    /// Entries in the blocks before `block`.
    fn before(&self, block: usize) -> usize {
        let mut sum = 0usize;
        let mut i = block;
        while i > 0 {
            sum += self.tree[i - 1] as usize;
            i &= i - 1;
        }
        sum
    }
}

/// Queued conversations in key order.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueueIndex {
    /// Sorted, each block sorted and non-empty, every key of a block below
    /// every key of the next.
    blocks: Vec<Vec<(i64, ConversationId)>>,
    sizes: Sizes,
    len: usize,
}

impl QueueIndex {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the queue is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block that holds `key`, or would: the first whose last key is not
    /// below it (the last block for a key above every key).
    fn block_of(&self, key: i64) -> usize {
        self.blocks
            .partition_point(|b| b.last().expect("blocks are non-empty").0 < key)
            .min(self.blocks.len().saturating_sub(1))
    }

    /// Adds an entry; a key already there is replaced.
    pub(crate) fn insert(&mut self, key: i64, id: ConversationId) {
        if self.blocks.is_empty() {
            self.blocks.push(vec![(key, id)]);
            self.len = 1;
            self.sizes.rebuild(&self.blocks);
            return;
        }
        let b = self.block_of(key);
        let block = &mut self.blocks[b];
        match block.binary_search_by_key(&key, |e| e.0) {
            Ok(at) => block[at].1 = id,
            Err(at) => {
                block.insert(at, (key, id));
                self.len += 1;
                if block.len() > MAX_BLOCK {
                    let upper = block.split_off(block.len() / 2);
                    self.blocks.insert(b + 1, upper);
                    self.sizes.rebuild(&self.blocks);
                } else {
                    self.sizes.add(b, 1);
                }
            }
        }
    }

    /// Removes the entry of `key`, if any.
    pub(crate) fn remove(&mut self, key: i64) -> Option<ConversationId> {
        if self.blocks.is_empty() {
            return None;
        }
        let b = self.block_of(key);
        let block = &mut self.blocks[b];
        let at = block.binary_search_by_key(&key, |e| e.0).ok()?;
        let (_, id) = block.remove(at);
        self.len -= 1;
        if block.is_empty() {
            self.blocks.remove(b);
            self.sizes.rebuild(&self.blocks);
        } else {
            self.sizes.add(b, -1);
        }
        Some(id)
    }

    /// Number of entries with a key below `key`.
    pub(crate) fn count_below(&self, key: i64) -> usize {
        if self.blocks.is_empty() {
            return 0;
        }
        let b = self.block_of(key);
        self.sizes.before(b) + self.blocks[b].partition_point(|e| e.0 < key)
    }

    /// Number of entries with a key above `key`.
    pub(crate) fn count_above(&self, key: i64) -> usize {
        self.len - self.count_below(key.saturating_add(1))
    }

    /// The entry with the lowest key.
    pub(crate) fn first(&self) -> Option<(i64, ConversationId)> {
        self.blocks.first().and_then(|b| b.first()).copied()
    }

    /// The entry with the highest key.
    pub(crate) fn last(&self) -> Option<(i64, ConversationId)> {
        self.blocks.last().and_then(|b| b.last()).copied()
    }

    /// The entry with the lowest key above `key`.
    pub(crate) fn next_above(&self, key: i64) -> Option<(i64, ConversationId)> {
        let from = self
            .blocks
            .partition_point(|b| b.last().expect("non-empty").0 <= key);
        let block = self.blocks.get(from)?;
        block.get(block.partition_point(|e| e.0 <= key)).copied()
    }

    /// The entry with the highest key below `key`.
    pub(crate) fn next_below(&self, key: i64) -> Option<(i64, ConversationId)> {
        let upto = self.blocks.partition_point(|b| b[0].0 < key);
        let block = self.blocks.get(upto.checked_sub(1)?)?;
        let at = block.partition_point(|e| e.0 < key);
        block.get(at.checked_sub(1)?).copied()
    }

    /// The entries of key-order ranks `start..end` (0-based, clamped to the
    /// queue), by key: O(log n) to find the first, then the entries taken.
    pub(crate) fn by_rank(&self, start: usize, end: usize) -> Vec<(i64, ConversationId)> {
        let end = end.min(self.len);
        if start >= end {
            return Vec::new();
        }
        let (first, before) = self.sizes.find(start);
        self.blocks[first..]
            .iter()
            .flatten()
            .skip(start - before)
            .take(end - start)
            .copied()
            .collect()
    }

    /// Every entry, by key.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &(i64, ConversationId)> + '_ {
        self.blocks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// The index against an ordered map, over random inserts and removals at
    /// both ends and in the middle, checking every answer after every step.
    #[test]
    fn ranks_and_neighbours_match_an_ordered_map() {
        let mut rng = SmallRng::seed_from_u64(11);
        let mut index = QueueIndex::default();
        let mut model: BTreeMap<i64, ConversationId> = BTreeMap::new();
        let (mut front, mut back) = (0i64, 0i64);
        for step in 0..20_000u64 {
            match rng.random_range(0..10) {
                0..=4 => {
                    back += 1;
                    index.insert(back, ConversationId(step));
                    model.insert(back, ConversationId(step));
                }
                5 => {
                    front -= 1;
                    index.insert(front, ConversationId(step));
                    model.insert(front, ConversationId(step));
                }
                6..=7 => {
                    let head = model.keys().next().copied();
                    if let Some(k) = head {
                        assert_eq!(index.remove(k), model.remove(&k));
                    }
                }
                _ => {
                    let k = rng.random_range(front..=back);
                    assert_eq!(index.remove(k), model.remove(&k));
                }
            }
            assert_eq!(index.len(), model.len());
            let probe = rng.random_range(front - 2..=back + 2);
            assert_eq!(index.count_below(probe), model.range(..probe).count());
            assert_eq!(index.count_above(probe), model.range(probe + 1..).count());
            let above = model.range(probe + 1..).next().map(|(k, v)| (*k, *v));
            assert_eq!(index.next_above(probe), above);
            let below = model.range(..probe).next_back().map(|(k, v)| (*k, *v));
            assert_eq!(index.next_below(probe), below);
            assert_eq!(
                index.first(),
                model.first_key_value().map(|(k, v)| (*k, *v))
            );
            assert_eq!(index.last(), model.last_key_value().map(|(k, v)| (*k, *v)));
            if step % 97 == 0 {
                let start = rng.random_range(0..=model.len());
                let end = start + rng.random_range(0..300);
                let page: Vec<(i64, ConversationId)> = model
                    .iter()
                    .skip(start)
                    .take(end - start)
                    .map(|(k, v)| (*k, *v))
                    .collect();
                assert_eq!(index.by_rank(start, end), page, "{start}..{end}");
            }
        }
        let listed: Vec<(i64, ConversationId)> = index.iter().copied().collect();
        let expected: Vec<(i64, ConversationId)> = model.into_iter().collect();
        assert_eq!(listed, expected);
        for (start, end) in [
            (0, 10),
            (5, 5),
            (300, 700),
            (expected.len() - 3, expected.len() + 9),
        ] {
            let page = &expected[start.min(expected.len())..end.min(expected.len())];
            assert_eq!(index.by_rank(start, end), page, "{start}..{end}");
        }
        assert!(index
            .by_rank(expected.len() + 1, expected.len() + 5)
            .is_empty());
    }
}
