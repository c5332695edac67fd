//! Deadlines in a min-heap: the reply-clock, auto-end and purge timers, and
//! the expiry of recent contacts.
//!
//! Entries are never taken out early. A timer that no longer applies (the
//! agent replied, the conversation ended) stays until it is due and is then
//! checked against the state and dropped, and a refreshed recent contact
//! leaves its old expiry behind in the same way. This is what makes adding a
//! deadline cheap: a new deadline is almost always the latest, so a push is a
//! comparison or two, where an ordered tree set searched its way down (and
//! searched again to remove the entry it replaced) on every assignment and
//! every message. The cost is that [`Deadlines::next`] may report a deadline
//! that turns out to have nothing to do, and that left-behind entries take
//! memory until they are due; an owner that can tell which entries still
//! apply bounds that with [`Deadlines::rebuild`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::ids::ConversationId;
use crate::time::Millis;

/// A timer of a conversation; validated against the conversation when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// The reply clock passes the reply target.
    Late(ConversationId),
    /// The buyer has been silent for `auto_end_secs` after the agent's reply.
    AutoEnd(ConversationId),
    /// A day past the reply window after the end: forget the conversation.
    Purge(ConversationId),
    /// A queued conversation reaches the next escalation step of its rule.
    Escalate(ConversationId),
    /// The shop opens (business hours): the queue drains.
    Opens,
    /// An offer lapses if the agent has not accepted it.
    OfferLapses(ConversationId),
    /// An active conversation moves on if its agent has not replied.
    Reassign(ConversationId),
}

/// A min-heap of `(deadline, item)`.
#[derive(Clone, Debug)]
pub(crate) struct Deadlines<T: Ord> {
    heap: BinaryHeap<Reverse<(Millis, T)>>,
}

impl<T: Ord> Default for Deadlines<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Ord> Deadlines<T> {
    /// Adds a deadline.
    pub(crate) fn push(&mut self, at: Millis, item: T) {
        self.heap.push(Reverse((at, item)));
    }

    /// The earliest deadline, if any.
    pub(crate) fn next(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Takes the earliest entry if it is due at `now`. The entry is looked at
    /// before it is taken, so nothing moves on the common path where nothing
    /// is due.
    pub(crate) fn pop_due(&mut self, now: Millis) -> Option<(Millis, T)> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry)
    }

    /// Number of entries, including those left behind.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Replaces every entry (in linear time).
    pub(crate) fn rebuild(&mut self, entries: impl IntoIterator<Item = (Millis, T)>) {
        self.heap = entries.into_iter().map(Reverse).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_come_out_earliest_first_and_later_ones_stay() {
        let mut d = Deadlines::default();
        d.push(30, "c");
        d.push(10, "a");
        d.push(20, "b");
        assert_eq!(d.next(), Some(10));
        assert_eq!(d.pop_due(20), Some((10, "a")));
        assert_eq!(d.pop_due(20), Some((20, "b")));
        assert_eq!(d.pop_due(20), None);
        assert_eq!(d.len(), 1);
        d.rebuild([(5, "x")]);
        assert_eq!(d.pop_due(100), Some((5, "x")));
        assert_eq!(d.next(), None);
    }
}
