//! The next write of a shop: every change decided since the last write
//! began, merged into one batch, and who waits for it.
//!
//! A record named by several commands is written once, as the last of them
//! left it (each put is the record's whole value, encoded when its command
//! was decided); events keep the order they were published in.

use std::collections::HashMap;

use fenliu_core::AgentId;
use fenliu_store::{Batch, Put};

use crate::agent_actor::AgentSnapshot;
use crate::error::NodeError;

/// Tells one caller how the write that holds its change went.
pub(crate) type Waiter = Box<dyn FnOnce(Result<(), NodeError>) + Send>;

/// Where a record's newest change sits in the group.
#[derive(Clone, Copy)]
enum Slot {
    Put(usize),
    Delete(usize),
}

/// Changes decided and not yet written, with the callers waiting on them.
#[derive(Default)]
pub(crate) struct Group {
    puts: Vec<Option<Put>>,
    deletes: Vec<Option<String>>,
    events: Vec<Vec<u8>>,
    slots: HashMap<String, Slot>,
    /// Commands decided into this group (reads included).
    pub(crate) commands: usize,
    pub(crate) waiters: Vec<Waiter>,
    /// The newest snapshot of each agent changed, or `None` when deleted.
    pub(crate) agents: HashMap<AgentId, Option<AgentSnapshot>>,
    /// How long each conversation assigned had waited, in seconds.
    pub(crate) waits: Vec<f64>,
}

impl Group {
    /// Whether nobody waits on this group and it holds nothing to write.
    pub(crate) fn is_idle(&self) -> bool {
        self.waiters.is_empty() && self.writes_nothing()
    }

    /// Whether writing this group would change nothing in the store.
    pub(crate) fn writes_nothing(&self) -> bool {
        self.slots.is_empty() && self.events.is_empty()
    }

    /// Adds a command's batch; a later change of a record replaces an earlier one.
    pub(crate) fn absorb(&mut self, batch: Batch) {
        for put in batch.puts {
            match self.slots.get(&put.key).copied() {
                Some(Slot::Put(i)) => self.puts[i] = Some(put),
                other => {
                    if let Some(Slot::Delete(i)) = other {
                        self.deletes[i] = None;
                    }
                    self.slots
                        .insert(put.key.clone(), Slot::Put(self.puts.len()));
                    self.puts.push(Some(put));
                }
            }
        }
        for key in batch.deletes {
            match self.slots.get(&key).copied() {
                Some(Slot::Delete(_)) => {}
                other => {
                    if let Some(Slot::Put(i)) = other {
                        self.puts[i] = None;
                    }
                    self.slots
                        .insert(key.clone(), Slot::Delete(self.deletes.len()));
                    self.deletes.push(Some(key));
                }
            }
        }
        self.events.extend(batch.events);
    }

    /// The one batch that writes the whole group.
    pub(crate) fn take_batch(&mut self) -> Batch {
        self.slots.clear();
        Batch {
            puts: self.puts.drain(..).flatten().collect(),
            deletes: self.deletes.drain(..).flatten().collect(),
            events: std::mem::take(&mut self.events),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: u8) -> Put {
        Put {
            key: key.into(),
            value: vec![value],
            expires_at: None,
        }
    }

    fn batch(puts: Vec<Put>, deletes: &[&str], events: &[u8]) -> Batch {
        Batch {
            puts,
            deletes: deletes.iter().map(|d| d.to_string()).collect(),
            events: events.iter().map(|e| vec![*e]).collect(),
        }
    }

    #[test]
    fn a_record_changed_by_several_commands_is_written_once_as_the_last_left_it() {
        let mut g = Group::default();
        g.absorb(batch(vec![put("conv:1", 1), put("agent:a", 1)], &[], &[1]));
        g.absorb(batch(vec![put("conv:1", 2)], &["recent:b"], &[2]));
        g.absorb(batch(vec![put("recent:b", 3)], &["agent:a"], &[3]));

        let b = g.take_batch();

        assert_eq!(b.puts, vec![put("conv:1", 2), put("recent:b", 3)]);
        assert_eq!(b.deletes, vec!["agent:a".to_string()]);
        assert_eq!(b.events, vec![vec![1], vec![2], vec![3]]);
        assert!(g.writes_nothing());
    }
}
