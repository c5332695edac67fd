//! The next write of a shop: every change decided since the last write
//! began, merged into one batch, and who waits for it.
//!
//! A record named by several commands is written once, as the last of them
//! left it (each put is the record's whole value, encoded when its command
//! was decided); events keep the order they were published in.

use std::collections::HashMap;

use fenliu_core::AgentId;
use fenliu_store::{Append, Batch, Put};

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

/// The group being gathered, allocated only while it holds something: a
/// live shop is mostly idle, and a group's vectors and maps cost about 270
/// bytes inline (issue 9: an idle live shop under 2 KiB).
#[derive(Default)]
pub(crate) struct Next(Option<Box<Group>>);

impl Next {
    /// Whether nobody waits on the group and it holds nothing to write.
    pub(crate) fn is_idle(&self) -> bool {
        self.0.as_ref().is_none_or(|g| g.is_idle())
    }

    /// The group, to add to.
    pub(crate) fn get(&mut self) -> &mut Group {
        self.0.get_or_insert_with(Box::default)
    }

    /// Takes the group, leaving none.
    pub(crate) fn take(&mut self) -> Group {
        self.0.take().map_or_else(Group::default, |g| *g)
    }
}

/// Changes decided and not yet written, with the callers waiting on them.
#[derive(Default)]
pub(crate) struct Group {
    puts: Vec<Option<Put>>,
    deletes: Vec<Option<String>>,
    events: Vec<Vec<u8>>,
    appends: Vec<Append>,
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
        self.slots.is_empty() && self.events.is_empty() && self.appends.is_empty()
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
        for a in batch.appends {
            a.merge_into(&mut self.appends);
        }
    }

    /// The one batch that writes the whole group.
    pub(crate) fn take_batch(&mut self) -> Batch {
        self.slots.clear();
        Batch {
            puts: self.puts.drain(..).flatten().collect(),
            deletes: self.deletes.drain(..).flatten().collect(),
            events: std::mem::take(&mut self.events),
            appends: std::mem::take(&mut self.appends),
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
            appends: Vec::new(),
        }
    }

    #[test]
    fn the_lines_of_a_days_log_keep_their_order_one_list_each() {
        let mut g = Group::default();
        for (list, line) in [("log:d1", 1), ("log:d1", 2), ("log:d2", 3), ("log:d1", 4)] {
            let mut b = batch(vec![], &[], &[]);
            b.append(list.into(), vec![vec![line]], 10 + i64::from(line));
            g.absorb(b);
        }
        assert!(!g.writes_nothing());
        let lists: Vec<(String, Vec<Vec<u8>>, i64)> = g
            .take_batch()
            .appends
            .into_iter()
            .map(|a| (a.list, a.items, a.expires_at))
            .collect();
        assert_eq!(
            lists,
            [
                ("log:d1".into(), vec![vec![1], vec![2], vec![4]], 14),
                ("log:d2".into(), vec![vec![3]], 13),
            ]
        );
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

    mod batching_changes_nothing {
        //! The same commands, written one batch each or merged into groups of
        //! any sizes, leave the store holding the same records and events.

        use std::collections::BTreeMap;

        use fenliu_core::{
            AgentId, AgentStatus, BuyerId, Command, ConversationId, EndReason, Entry, Inquiry,
            Party, Shop, ShopId,
        };
        use fenliu_store::{codec, Batch};
        use proptest::prelude::*;
        use rand::rngs::SmallRng;
        use rand::SeedableRng;

        use super::super::Group;

        #[derive(Default, Debug, PartialEq)]
        struct Stored {
            records: BTreeMap<String, Vec<u8>>,
            events: Vec<Vec<u8>>,
        }

        impl Stored {
            fn write(&mut self, batch: Batch) {
                for put in batch.puts {
                    self.records.insert(put.key, put.value);
                }
                for key in batch.deletes {
                    self.records.remove(&key);
                }
                self.events.extend(batch.events);
            }
        }

        fn command(op: (u8, u8, u8)) -> Command {
            let (kind, a, b) = op;
            let agent = AgentId::parse(&format!("a{}", a % 3)).unwrap();
            let conv = ConversationId(1 + u64::from(b % 12));
            match kind % 7 {
                6 => Command::DeleteAgent(agent),
                0 => Command::UpsertAgent {
                    agent,
                    display_name: None,
                    weight: None,
                    groups: None,
                },
                1 => Command::SetStatus(
                    agent,
                    [AgentStatus::Online, AgentStatus::Busy, AgentStatus::Offline]
                        [usize::from(b % 3)],
                ),
                2 | 3 => Command::Inquire(Inquiry {
                    buyer_id: BuyerId::parse(&format!("b{}", b % 6)).unwrap(),
                    entry: Entry::Live,
                    question: None,
                    order_state: None,
                    product_id: None,
                    intent: None,
                    priority: Default::default(),
                }),
                4 => Command::Message(
                    conv,
                    if a % 2 == 0 {
                        Party::Agent
                    } else {
                        Party::Buyer
                    },
                ),
                _ => Command::End(conv, EndReason::Service),
            }
        }

        proptest! {
            #[test]
            fn merged_batches_store_what_one_batch_per_command_stores(
                ops in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 1..60),
                cuts in proptest::collection::vec(1usize..8, 1..20),
            ) {
                let mut shop = Shop::new(ShopId::parse("s").unwrap());
                let mut rng = SmallRng::seed_from_u64(7);
                let batches: Vec<Batch> = ops
                    .iter()
                    .enumerate()
                    .map(|(i, op)| {
                        let now = 1_700_000_000_000 + i as i64 * 7_000;
                        let effects = match shop.handle(command(*op), now, &mut rng) {
                            Ok((_, fx)) => fx,
                            Err(_) => shop.take_effects(),
                        };
                        codec::batch_for(&shop, &effects, codec::DAY_LOG_KEPT_DAYS)
                    })
                    .collect();

                let mut one_each = Stored::default();
                for b in batches.clone() {
                    one_each.write(b);
                }
                let mut grouped = Stored::default();
                let mut rest = batches.into_iter().peekable();
                for size in cuts.iter().cycle() {
                    if rest.peek().is_none() {
                        break;
                    }
                    let mut group = Group::default();
                    for b in rest.by_ref().take(*size) {
                        group.absorb(b);
                    }
                    let merged = group.take_batch();
                    // Each record once: the stores apply puts and deletes in
                    // different orders, which must not matter.
                    let mut keys: Vec<&String> =
                        merged.puts.iter().map(|p| &p.key).chain(&merged.deletes).collect();
                    let named = keys.len();
                    keys.sort();
                    keys.dedup();
                    prop_assert_eq!(keys.len(), named, "a record named twice in one write");
                    grouped.write(merged);
                }

                prop_assert_eq!(&grouped, &one_each);
                let restored = codec::restore(
                    ShopId::parse("s").unwrap(),
                    grouped.records.into_iter().collect(),
                    0,
                )
                .unwrap();
                let encoded = |shop: &Shop| -> BTreeMap<String, Vec<u8>> {
                    shop.snapshot()
                        .iter()
                        .map(|r| (r.key().name(), codec::encode(r.as_ref())))
                        .collect()
                };
                prop_assert_eq!(encoded(&restored.shop), encoded(&shop));
            }
        }
    }
}
