//! Shared arrangement for the integration tests: a shop with a clock and a
//! seeded RNG, and short constructors for ids, inquiries and settings.
//!
//! Every test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::BTreeMap;

use fenliu_core::settings::{Rule, Target, When};
use fenliu_core::{
    AgentId, AgentStatus, BuyerId, Command, ConversationId, ConversationStatus, CoreError, Effects,
    EndReason, Entry, GroupId, Inquiry, MaxLoad, Millis, Party, Reason, Record, RecordKey, Reply,
    RoutingSettings, Shop, ShopId, Tag, Weight,
};
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// 2026-11-23T10:00:00+08:00: mid-morning in the default time zone, far
/// from a day boundary.
pub const T0: Millis = 1_795_363_200_000 + 10 * HOUR;
pub const SEC: Millis = 1_000;
pub const MIN: Millis = 60 * SEC;
pub const HOUR: Millis = 60 * MIN;
pub const DAY: Millis = 24 * HOUR;

pub fn aid(raw: &str) -> AgentId {
    AgentId::parse(raw).unwrap()
}

pub fn gid(raw: &str) -> GroupId {
    GroupId::parse(raw).unwrap()
}

pub fn bid(raw: &str) -> BuyerId {
    BuyerId::parse(raw).unwrap()
}

pub fn tag(raw: &str) -> Tag {
    Tag::parse(raw).unwrap()
}

/// An inquiry from the direct-message entry with no other field.
pub fn ask(buyer: &str) -> Inquiry {
    Inquiry {
        buyer_id: bid(buyer),
        entry: Entry::DirectMessage,
        question: None,
        order_state: None,
        product_id: None,
        intent: None,
        priority: Default::default(),
    }
}

/// A rule sending inquiries matching `when` to `agents` and `groups`.
pub fn rule(when: When, agents: &[&str], groups: &[&str]) -> Rule {
    Rule {
        when,
        to: Target {
            agents: agents.iter().map(|a| aid(a)).collect(),
            groups: groups.iter().map(|g| gid(g)).collect(),
            ..Target::default()
        },
    }
}

/// The outcome of an inquiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked {
    pub id: ConversationId,
    pub created: bool,
    pub reason: Reason,
}

/// A shop under test with its own clock and RNG.
pub struct World {
    pub shop: Shop,
    pub now: Millis,
    pub rng: SmallRng,
    /// Effects of the last successful command (or tick).
    pub fx: Effects,
    /// Effects of every command and tick since the last `take_unsaved`,
    /// as a store would have to persist them.
    pub unsaved: Effects,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> Self {
        Self::seeded(1)
    }

    pub fn seeded(seed: u64) -> Self {
        Self {
            shop: Shop::new(ShopId::parse("shop-1").unwrap()),
            now: T0,
            rng: SmallRng::seed_from_u64(seed),
            fx: Effects::default(),
            unsaved: Effects::default(),
        }
    }

    /// Runs a command at the current time.
    pub fn run(&mut self, cmd: Command) -> Result<Reply, CoreError> {
        match self.shop.handle(cmd, self.now, &mut self.rng) {
            Ok((reply, fx)) => {
                self.keep(fx);
                Ok(reply)
            }
            Err(e) => {
                let fx = self.shop.take_effects();
                self.unsaved.events.extend(fx.events);
                self.unsaved.changed.extend(fx.changed);
                self.unsaved.facts.extend(fx.facts);
                Err(e)
            }
        }
    }

    fn keep(&mut self, fx: Effects) {
        self.unsaved.events.extend(fx.events.iter().cloned());
        self.unsaved.changed.extend(fx.changed.iter().cloned());
        self.unsaved.facts.extend(fx.facts.iter().cloned());
        self.fx = fx;
    }

    /// Everything to persist since the last call.
    pub fn take_unsaved(&mut self) -> Effects {
        std::mem::take(&mut self.unsaved)
    }

    /// Runs a command that must succeed.
    pub fn ok(&mut self, cmd: Command) -> Reply {
        let name = cmd.name();
        self.run(cmd)
            .unwrap_or_else(|e| panic!("{name} was refused: {e}"))
    }

    /// Adds an agent with a status and max load.
    pub fn agent(&mut self, id: &str, status: AgentStatus, max_load: u32) -> &mut Self {
        self.agent_in(id, status, max_load, &[])
    }

    /// Adds an online agent with max load 10.
    pub fn online(&mut self, id: &str) -> &mut Self {
        self.agent(id, AgentStatus::Online, 10)
    }

    /// Adds an agent that belongs to `groups`.
    pub fn agent_in(
        &mut self,
        id: &str,
        status: AgentStatus,
        max_load: u32,
        groups: &[&str],
    ) -> &mut Self {
        self.ok(Command::UpsertAgent {
            agent: aid(id),
            display_name: None,
            weight: None,
            groups: Some(groups.iter().map(|g| gid(g)).collect()),
        });
        self.ok(Command::SetMaxLoad(
            aid(id),
            MaxLoad::new(max_load).unwrap(),
        ));
        self.ok(Command::SetStatus(aid(id), status));
        self
    }

    pub fn set_weight(&mut self, id: &str, weight: u32) {
        self.ok(Command::UpsertAgent {
            agent: aid(id),
            display_name: None,
            weight: Some(Weight::new(weight).unwrap()),
            groups: None,
        });
    }

    pub fn set_status(&mut self, id: &str, status: AgentStatus) {
        self.ok(Command::SetStatus(aid(id), status));
    }

    pub fn set_max_load(&mut self, id: &str, max: u32) {
        self.ok(Command::SetMaxLoad(aid(id), MaxLoad::new(max).unwrap()));
    }

    pub fn put_group(&mut self, group: &str, members: &[&str]) {
        self.ok(Command::PutGroup(
            gid(group),
            members.iter().map(|a| aid(a)).collect(),
        ));
    }

    /// Changes the routing settings, starting from the current ones.
    pub fn routing(&mut self, change: impl FnOnce(&mut RoutingSettings)) {
        let mut settings = self.shop.settings().clone();
        change(&mut settings);
        self.ok(Command::SetRouting(Box::new(settings)));
    }

    /// A plain inquiry from `buyer`.
    pub fn inquire(&mut self, buyer: &str) -> Asked {
        self.inquire_with(ask(buyer))
    }

    pub fn inquire_with(&mut self, inquiry: Inquiry) -> Asked {
        match self.ok(Command::Inquire(inquiry)) {
            Reply::Conversation {
                id,
                created,
                reason,
            } => Asked {
                id,
                created,
                reason,
            },
            other => panic!("an inquiry answered {other:?}"),
        }
    }

    pub fn buyer_says(&mut self, id: ConversationId) -> Reply {
        self.ok(Command::Message(id, Party::Buyer))
    }

    pub fn agent_says(&mut self, id: ConversationId) -> Reply {
        self.ok(Command::Message(id, Party::Agent))
    }

    pub fn end(&mut self, id: ConversationId) {
        self.ok(Command::End(id, EndReason::Agent));
    }

    pub fn transfer(&mut self, id: ConversationId, to: &str) {
        self.ok(Command::Transfer(id, aid(to)));
    }

    /// Moves the clock forward and fires the timers that are due.
    pub fn advance(&mut self, by: Millis) -> Effects {
        self.now += by;
        let fx = self.shop.tick(self.now, &mut self.rng);
        self.keep(fx);
        self.fx.clone()
    }

    /// The agent a conversation is (or was last) with.
    pub fn agent_of(&self, id: ConversationId) -> Option<String> {
        self.shop
            .conversation(id)
            .and_then(|c| c.agent.as_ref())
            .map(|a| a.to_string())
    }

    pub fn status_of(&self, id: ConversationId) -> ConversationStatus {
        self.shop.conversation(id).expect("conversation").status
    }

    pub fn load(&self, id: &str) -> u32 {
        self.shop.agent(&aid(id)).expect("agent").load
    }

    pub fn unreplied(&self, id: &str) -> u32 {
        self.shop.agent(&aid(id)).expect("agent").unreplied
    }

    /// The 1-based queue position of a conversation now.
    pub fn position(&self, id: ConversationId) -> Option<u32> {
        self.shop.position(id, self.now)
    }

    /// Queued conversations in the order they will be served.
    pub fn queue(&self) -> Vec<ConversationId> {
        self.shop
            .queue(self.now)
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    /// Every stored record, keyed so that two snapshots compare regardless
    /// of the order `snapshot` lists them in.
    pub fn records(&self) -> BTreeMap<RecordKey, String> {
        records_of(&self.shop)
    }
}

/// The key a record is stored under.
pub fn key_of(record: &Record) -> RecordKey {
    record.key()
}

/// The records of a shop by key, each shown with `Debug` so that two shops
/// can be compared (records hold floats, hence no `Eq`).
pub fn records_of(shop: &Shop) -> BTreeMap<RecordKey, String> {
    shop.snapshot()
        .into_iter()
        .map(|r| (key_of(&r), format!("{r:?}")))
        .collect()
}
