//! The queue's order (排队): queued conversations by priority and queue key,
//! with the position of any of them in O(log n).
//!
//! [`Queue`] keeps one [`QueueIndex`] per priority level in use (at most
//! ten), and serves the best head among them: higher priority first, then
//! the shop's queue order by key. With aging, a conversation's priority for
//! queue order rises with the time it has waited, so the order of two
//! levels changes with the clock; within one level it does not, because a
//! level's entries wait longer the lower their key (`since` never decreases
//! with the key), so the entries that have aged to a given priority are a
//! run of consecutive keys. Every question of order (a position, the next to
//! serve) is therefore a few binary searches per level, and a position in
//! FIFO order usually one per level whose entries straddle it (the others
//! count whole or not at all).
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
use crate::inquiry::Priority;
use crate::time::Millis;

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
    fn rebuild(&mut self, blocks: &[Vec<Entry>]) {
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

/// One queued conversation: its key, since when it waits, and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) key: i64,
    pub(crate) since: Millis,
    pub(crate) id: ConversationId,
}

/// A cut through a level's key order: how many entries come before it, and
/// the entries on either side of it.
#[derive(Clone, Copy, Debug, Default)]
struct Split {
    count: usize,
    before: Option<Entry>,
    after: Option<Entry>,
}

/// Queued conversations of one priority in key order; `since` never
/// decreases with the key.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueueIndex {
    /// Sorted, each block sorted and non-empty, every key of a block below
    /// every key of the next.
    blocks: Vec<Vec<Entry>>,
    /// The last entry of each block, side by side, so that finding a block
    /// reads one array instead of one allocation per step.
    lasts: Vec<Entry>,
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
        self.lasts
            .partition_point(|e| e.key < key)
            .min(self.blocks.len().saturating_sub(1))
    }

    /// The blocks changed shape: the sizes and the lasts are rebuilt.
    fn reindex(&mut self) {
        self.sizes.rebuild(&self.blocks);
        self.lasts.clear();
        self.lasts
            .extend(self.blocks.iter().map(|b| *b.last().expect("non-empty")));
    }

    /// Block `b` changed its entries, not its place: its last is updated.
    fn touched(&mut self, b: usize) {
        self.lasts[b] = *self.blocks[b].last().expect("non-empty");
    }

    /// Adds an entry; a key already there is replaced.
    pub(crate) fn insert(&mut self, entry: Entry) {
        let key = entry.key;
        if self.blocks.is_empty() {
            self.blocks.push(vec![entry]);
            self.len = 1;
            self.reindex();
            return;
        }
        let b = self.block_of(key);
        let block = &mut self.blocks[b];
        match block.binary_search_by_key(&key, |e| e.key) {
            Ok(at) => {
                block[at] = entry;
                self.touched(b);
            }
            Err(at) => {
                block.insert(at, entry);
                self.len += 1;
                if block.len() > MAX_BLOCK {
                    let upper = block.split_off(block.len() / 2);
                    self.blocks.insert(b + 1, upper);
                    self.reindex();
                } else {
                    self.sizes.add(b, 1);
                    self.touched(b);
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
        let at = block.binary_search_by_key(&key, |e| e.key).ok()?;
        let Entry { id, .. } = block.remove(at);
        self.len -= 1;
        if block.is_empty() {
            self.blocks.remove(b);
            self.reindex();
        } else {
            self.sizes.add(b, -1);
            self.touched(b);
        }
        Some(id)
    }

    /// Number of entries with a key below `key`.
    pub(crate) fn count_below(&self, key: i64) -> usize {
        self.split_below(key).count
    }

    /// Where the keys below `key` end.
    fn split_below(&self, key: i64) -> Split {
        if self.blocks.is_empty() {
            return Split::default();
        }
        let b = self.block_of(key);
        self.split_at(b, self.blocks[b].partition_point(|e| e.key < key))
    }

    /// Number of entries waiting since `t` or earlier: a run of the lowest
    /// keys, since `since` never decreases with the key.
    pub(crate) fn count_since_at_most(&self, t: Millis) -> usize {
        self.split_since_at_most(t).count
    }

    /// Where the entries waiting since `t` or earlier end.
    fn split_since_at_most(&self, t: Millis) -> Split {
        let b = self.lasts.partition_point(|e| e.since <= t);
        match self.blocks.get(b) {
            None => Split {
                count: self.len,
                before: self.last(),
                after: None,
            },
            Some(block) => self.split_at(b, block.partition_point(|e| e.since <= t)),
        }
    }

    /// The split before offset `at` of block `b` (at most its length).
    fn split_at(&self, b: usize, at: usize) -> Split {
        let block = &self.blocks[b];
        Split {
            count: self.sizes.before(b) + at,
            before: match at.checked_sub(1) {
                Some(i) => block.get(i).copied(),
                None => b.checked_sub(1).map(|p| self.lasts[p]),
            },
            after: match block.get(at) {
                Some(e) => Some(*e),
                None => self.blocks.get(b + 1).and_then(|n| n.first().copied()),
            },
        }
    }

    /// The entry with the lowest key.
    pub(crate) fn first(&self) -> Option<Entry> {
        self.blocks.first().and_then(|b| b.first()).copied()
    }

    /// The entry with the highest key.
    pub(crate) fn last(&self) -> Option<Entry> {
        self.lasts.last().copied()
    }

    /// The entry of key-order rank `rank` (0-based), if any.
    pub(crate) fn at_rank(&self, rank: usize) -> Option<Entry> {
        if rank >= self.len {
            return None;
        }
        let (block, before) = self.sizes.find(rank);
        self.blocks[block].get(rank - before).copied()
    }

    /// The entries of key-order ranks `start..end` (0-based, clamped to the
    /// queue), by key: O(log n) to find the first, then the entries taken.
    pub(crate) fn by_rank(&self, start: usize, end: usize) -> Vec<Entry> {
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
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.blocks.iter().flatten()
    }
}

/// How the queue is ordered at one moment: the shop's queue order, its
/// aging period, and the time the waits are measured at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Order {
    /// LIFO serves the highest key of a priority first, FIFO the lowest.
    pub(crate) lifo: bool,
    /// With aging, every full period waited raises the priority by one.
    pub(crate) aging: Option<Millis>,
    /// When the waits are measured.
    pub(crate) now: Millis,
}

/// A place in the queue's order: a priority for queue order, and a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    /// The priority the queue orders by (after aging).
    pub(crate) priority: u8,
    /// The key within it.
    pub(crate) key: i64,
}

/// Above every priority: a place before the whole queue.
const BEFORE_ALL: u8 = Priority::MAX.get() + 1;

impl Order {
    /// The place of an entry of base priority `base`.
    pub(crate) fn place(&self, base: Priority, key: i64, since: Millis) -> Place {
        Place {
            priority: self.priority(base, since).get(),
            key,
        }
    }

    /// Whether `a` is served before `b`.
    pub(crate) fn ahead(&self, a: Place, b: Place) -> bool {
        a.priority > b.priority
            || (a.priority == b.priority
                && if self.lifo {
                    a.key > b.key
                } else {
                    a.key < b.key
                })
    }

    /// The priority for queue order of an entry of base priority `base`
    /// waiting since `since`.
    pub(crate) fn priority(&self, base: Priority, since: Millis) -> Priority {
        match self.aging {
            Some(period) if period > 0 => base.raised(((self.now - since).max(0) / period) as u64),
            _ => base,
        }
    }
}

/// One priority level: its base priority and its entries.
#[derive(Clone, Debug)]
struct Level {
    base: Priority,
    index: QueueIndex,
}

impl Level {
    /// The latest `since` of an entry of this level whose priority for
    /// queue order is `p` or more: those entries are the run of the lowest
    /// keys waiting since then or earlier. `Millis::MAX` when every entry is,
    /// `Millis::MIN` when none is.
    fn threshold(&self, p: u8, order: &Order) -> Millis {
        let base = self.base.get();
        if p <= base {
            return Millis::MAX;
        }
        match order.aging {
            Some(period) if period > 0 && p < BEFORE_ALL => {
                order.now - Millis::from(p - base) * period
            }
            _ => Millis::MIN,
        }
    }

    /// Entries whose priority for queue order is at least `p`: a run of the
    /// lowest keys.
    fn count_at_least(&self, p: u8, order: &Order) -> usize {
        self.index.count_since_at_most(self.threshold(p, order))
    }

    fn place(&self, e: Entry, order: &Order) -> Place {
        order.place(self.base, e.key, e.since)
    }

    /// Entries of this level served before `at`, an entry that waits since
    /// `since`.
    fn ahead_of(&self, at: Place, since: Millis, order: &Order) -> usize {
        // The oldest entry has the highest priority, the newest the lowest:
        // a level wholly above or below `at` needs no search.
        let (Some(oldest), Some(newest)) = (self.index.first(), self.index.last()) else {
            return 0;
        };
        if newest.since <= self.threshold(at.priority + 1, order) {
            return self.index.len();
        }
        if oldest.since > self.threshold(at.priority, order) {
            return 0;
        }
        if !order.lifo {
            return self.fifo_ahead_of(at, since, order);
        }
        let (high, low) = (
            order.priority(self.base, oldest.since).get(),
            order.priority(self.base, newest.since).get(),
        );
        let r0 = if high > at.priority {
            self.count_at_least(at.priority + 1, order)
        } else {
            0
        };
        let r1 = if low < at.priority {
            self.count_at_least(at.priority, order)
        } else {
            self.index.len()
        };
        if r0 == r1 {
            return r0;
        }
        let in_band = if order.lifo {
            r1 - self
                .index
                .count_below(at.key.saturating_add(1))
                .clamp(r0, r1)
        } else {
            self.index.count_below(at.key).clamp(r0, r1) - r0
        };
        r0 + in_band
    }

    /// In FIFO order, the entries served before `at` are a run of the lowest
    /// keys: those of a priority above `at`'s (ranks below `r0`), then those
    /// of its priority with a key below `at`'s (up to rank `r1`). So the count
    /// is `count_below(at.key)` clamped to `r0..=r1`, which takes three
    /// searches. Which of the three it comes to is foreseeable: an entry of
    /// this level that waits as long as `at`'s has its priority `p`; entries
    /// are queued by key as they come, so if `p` is below `at`'s priority,
    /// every entry of that priority came before `at` and the count is `r1`;
    /// if above, every one came after and it is `r0`; if equal (`at`'s own
    /// level), the key decides. The foreseen search is done first, and the
    /// entries on either side of it confirm it; only when they do not (a
    /// conversation put back at the front, a clock that stepped back) are the
    /// other two searched.
    fn fifo_ahead_of(&self, at: Place, since: Millis, order: &Order) -> usize {
        // Entries waiting since `above` or earlier are of a priority above
        // `at`'s, since `at_least` or earlier of at least `at`'s.
        let key = at.key;
        let (above, at_least) = (
            self.threshold(at.priority + 1, order),
            self.threshold(at.priority, order),
        );
        let confirmed = if since <= above {
            let r0 = self.index.split_since_at_most(above);
            r0.after.is_none_or(|e| e.key >= key).then_some(r0.count)
        } else if since > at_least {
            let r1 = self.index.split_since_at_most(at_least);
            r1.before.is_none_or(|e| e.key < key).then_some(r1.count)
        } else {
            let c = self.index.split_below(key);
            let fits = c.before.is_none_or(|e| e.since <= at_least)
                && c.after.is_none_or(|e| e.since > above);
            fits.then_some(c.count)
        };
        confirmed.unwrap_or_else(|| {
            let r0 = self.index.count_since_at_most(above);
            let r1 = self.index.count_since_at_most(at_least);
            self.index.count_below(key).clamp(r0, r1)
        })
    }

    /// The first entry of this level served after `after` (or the first of
    /// all with `None`).
    fn next_after(&self, after: Option<Place>, order: &Order) -> Option<(Place, Entry)> {
        let at = after.unwrap_or(Place {
            priority: BEFORE_ALL,
            key: 0,
        });
        let r0 = self.count_at_least(at.priority.saturating_add(1), order);
        let r1 = self.count_at_least(at.priority, order);
        // The rest of the band of `at`'s priority, in the shop's order.
        let in_band = if order.lifo {
            let end = r1.min(self.index.count_below(at.key));
            (end > r0).then(|| end - 1)
        } else {
            let start = r0.max(self.index.count_below(at.key.saturating_add(1)));
            (start < r1).then_some(start)
        };
        let rank = match in_band {
            Some(rank) => rank,
            // The next band down starts at rank r1; LIFO serves its last key.
            None => {
                let first = self.index.at_rank(r1)?;
                if order.lifo {
                    let p = self.place(first, order).priority;
                    self.count_at_least(p, order) - 1
                } else {
                    r1
                }
            }
        };
        let e = self.index.at_rank(rank)?;
        Some((self.place(e, order), e))
    }
}

/// The queued conversations, by priority level.
#[derive(Clone, Debug, Default)]
pub(crate) struct Queue {
    /// The levels in use, by base priority.
    levels: Vec<Level>,
    len: usize,
}

impl Queue {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the queue is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn level_mut(&mut self, base: Priority) -> &mut QueueIndex {
        let at = match self.levels.binary_search_by_key(&base, |l| l.base) {
            Ok(at) => at,
            Err(at) => {
                self.levels.insert(
                    at,
                    Level {
                        base,
                        index: QueueIndex::default(),
                    },
                );
                at
            }
        };
        &mut self.levels[at].index
    }

    /// Adds an entry of priority `base`. Its `since` is raised to the
    /// latest of its level if that is later, so that `since` never decreases
    /// with the key (a clock that steps back cannot break the order).
    pub(crate) fn push_back(&mut self, base: Priority, mut entry: Entry) -> Entry {
        let level = self.level_mut(base);
        if let Some(last) = level.last() {
            entry.since = entry.since.max(last.since);
        }
        level.insert(entry);
        self.len += 1;
        entry
    }

    /// Adds an entry of priority `base` at the front of its level (the
    /// lowest key): it counts as waiting as long as the entry it goes
    /// before, if that waited longer.
    pub(crate) fn push_front(&mut self, base: Priority, mut entry: Entry) -> Entry {
        let level = self.level_mut(base);
        if let Some(first) = level.first() {
            entry.since = entry.since.min(first.since);
        }
        level.insert(entry);
        self.len += 1;
        entry
    }

    /// Puts an entry of priority `base` back at its own key (a conversation
    /// nobody took returns to the place it had). Its `since` is kept between
    /// those of its neighbours, so that `since` never decreases with the key.
    pub(crate) fn put_back(&mut self, base: Priority, mut entry: Entry) -> Entry {
        let level = self.level_mut(base);
        let rank = level.count_below(entry.key);
        if let Some(before) = rank.checked_sub(1).and_then(|r| level.at_rank(r)) {
            entry.since = entry.since.max(before.since);
        }
        if let Some(after) = level.at_rank(rank) {
            debug_assert_ne!(after.key, entry.key, "a key is in the queue once");
            entry.since = entry.since.min(after.since);
        }
        level.insert(entry);
        self.len += 1;
        entry
    }

    /// Removes the entry of `key` from level `base`.
    pub(crate) fn remove(&mut self, base: Priority, key: i64) -> Option<ConversationId> {
        let at = self.levels.binary_search_by_key(&base, |l| l.base).ok()?;
        let id = self.levels[at].index.remove(key)?;
        self.len -= 1;
        if self.levels[at].index.is_empty() {
            self.levels.remove(at);
        }
        Some(id)
    }

    /// The 1-based position of a place, of an entry that waits since
    /// `since`: entries served before it, plus one. (`since` only makes the
    /// count quicker to find: any value gives the same answer.)
    pub(crate) fn position(&self, at: Place, since: Millis, order: &Order) -> usize {
        self.levels
            .iter()
            .map(|l| l.ahead_of(at, since, order))
            .sum::<usize>()
            + 1
    }

    /// The entry served first after `after` (the first of all with `None`).
    pub(crate) fn next_after(&self, after: Option<Place>, order: &Order) -> Option<(Place, Entry)> {
        let mut best: Option<(Place, Entry)> = None;
        for level in &self.levels {
            if let Some((p, e)) = level.next_after(after, order) {
                if best.is_none_or(|(b, _)| order.ahead(p, b)) {
                    best = Some((p, e));
                }
            }
        }
        best
    }

    /// At most `limit` entries in the order they are served, from the one
    /// at 0-based position `offset` on. One level served by key is a slice
    /// of its index; otherwise the order is walked from the front.
    pub(crate) fn page(&self, offset: usize, limit: usize, order: &Order) -> Vec<(Place, Entry)> {
        let end = offset.saturating_add(limit).min(self.len);
        if offset >= end {
            return Vec::new();
        }
        if let [level] = self.levels.as_slice() {
            if order.aging.is_none() || !order.lifo {
                let len = level.index.len();
                let mut page = if order.lifo {
                    let mut page = level.index.by_rank(len - end, len - offset);
                    page.reverse();
                    page
                } else {
                    level.index.by_rank(offset, end)
                };
                return page.drain(..).map(|e| (level.place(e, order), e)).collect();
            }
        }
        let mut out = Vec::with_capacity(end - offset);
        let mut at = None;
        for i in 0..end {
            let Some((p, e)) = self.next_after(at, order) else {
                break;
            };
            at = Some(p);
            if i >= offset {
                out.push((p, e));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn entry(key: i64, since: Millis, n: u64) -> Entry {
        Entry {
            key,
            since,
            id: ConversationId(n),
        }
    }

    /// The index against an ordered map, over random inserts and removals at
    /// both ends and in the middle, checking every answer after every step.
    #[test]
    fn ranks_and_counts_match_an_ordered_map() {
        let mut rng = SmallRng::seed_from_u64(11);
        let mut index = QueueIndex::default();
        let mut model: BTreeMap<i64, Entry> = BTreeMap::new();
        let (mut front, mut back) = (0i64, 0i64);
        for step in 0..20_000u64 {
            match rng.random_range(0..10) {
                0..=4 => {
                    back += 1;
                    index.insert(entry(back, back * 10, step));
                    model.insert(back, entry(back, back * 10, step));
                }
                5 => {
                    front -= 1;
                    index.insert(entry(front, front * 10, step));
                    model.insert(front, entry(front, front * 10, step));
                }
                6..=7 => {
                    let head = model.keys().next().copied();
                    if let Some(k) = head {
                        assert_eq!(index.remove(k), model.remove(&k).map(|e| e.id));
                    }
                }
                _ => {
                    let k = rng.random_range(front..=back);
                    assert_eq!(index.remove(k), model.remove(&k).map(|e| e.id));
                }
            }
            assert_eq!(index.len(), model.len());
            let probe = rng.random_range(front - 2..=back + 2);
            assert_eq!(index.count_below(probe), model.range(..probe).count());
            let t = probe * 10 + rng.random_range(-5..5);
            let since = model.values().filter(|e| e.since <= t).count();
            assert_eq!(index.count_since_at_most(t), since);
            assert_eq!(index.first(), model.values().next().copied());
            assert_eq!(index.last(), model.values().next_back().copied());
            if step % 97 == 0 {
                let start = rng.random_range(0..=model.len());
                let end = start + rng.random_range(0..300);
                let page: Vec<Entry> = model
                    .values()
                    .skip(start)
                    .take(end - start)
                    .copied()
                    .collect();
                assert_eq!(index.by_rank(start, end), page, "{start}..{end}");
                assert_eq!(index.at_rank(start), model.values().nth(start).copied());
            }
        }
        let listed: Vec<Entry> = index.iter().copied().collect();
        let expected: Vec<Entry> = model.into_values().collect();
        assert_eq!(listed, expected);
    }

    /// The queue's order, positions and pages against a sort of every entry
    /// by (priority after aging, key in the shop's order), with random
    /// priorities, both orders, with and without aging, as time passes.
    #[test]
    fn order_and_positions_match_a_sort_by_priority_then_key() {
        let mut rng = SmallRng::seed_from_u64(7);
        for case in 0..40u64 {
            let lifo = case % 2 == 1;
            let aging = (case % 4 >= 2).then_some(1_000);
            let mut queue = Queue::default();
            let mut model: Vec<(Priority, Entry)> = Vec::new();
            let (mut front, mut back, mut now) = (0i64, 0i64, 0i64);
            for step in 0..400u64 {
                now += rng.random_range(0..400);
                let base = Priority::new(rng.random_range(0..4) * 3).unwrap();
                match rng.random_range(0..10) {
                    0..=5 => {
                        back += 1;
                        let e = queue.push_back(base, entry(back, now, step));
                        model.push((base, e));
                    }
                    6 if !lifo => {
                        front -= 1;
                        let e = queue.push_front(base, entry(front, now, step));
                        model.push((base, e));
                    }
                    _ if !model.is_empty() => {
                        let (b, e) = model.swap_remove(rng.random_range(0..model.len()));
                        assert_eq!(queue.remove(b, e.key), Some(e.id));
                    }
                    _ => {}
                }
                let order = Order { lifo, aging, now };
                let mut sorted: Vec<(Place, Entry)> = model
                    .iter()
                    .map(|(b, e)| (order.place(*b, e.key, e.since), *e))
                    .collect();
                sorted.sort_by(|(a, _), (b, _)| {
                    b.priority.cmp(&a.priority).then(if lifo {
                        b.key.cmp(&a.key)
                    } else {
                        a.key.cmp(&b.key)
                    })
                });
                assert_eq!(queue.len(), sorted.len());
                for (i, (p, e)) in sorted.iter().enumerate() {
                    assert_eq!(
                        queue.position(*p, e.since, &order),
                        i + 1,
                        "case {case} step {step}"
                    );
                    // A wrong `since` only costs searches.
                    let guess = rng.random_range(0..=now + 5_000);
                    assert_eq!(
                        queue.position(*p, guess, &order),
                        i + 1,
                        "case {case} step {step}"
                    );
                }
                let mut walked = Vec::new();
                let mut at = None;
                while let Some((p, e)) = queue.next_after(at, &order) {
                    walked.push((p, e));
                    at = Some(p);
                }
                assert_eq!(walked, sorted, "case {case} step {step}");
                let offset = rng.random_range(0..=sorted.len());
                let limit = rng.random_range(0..20);
                let page = queue.page(offset, limit, &order);
                let want: Vec<(Place, Entry)> =
                    sorted.iter().skip(offset).take(limit).copied().collect();
                assert_eq!(page, want, "case {case} step {step}");
            }
        }
    }
}
