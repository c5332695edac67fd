//! The state of one shop and the commands that change it.
//!
//! [`Shop::handle`] takes a [`Command`], `now` and a random number generator
//! and either refuses the command (changing nothing) or applies it, returning
//! a [`Reply`] and the [`Effects`]: events to publish and the records to
//! persist. [`Shop::tick`] fires the timers that are due. Reads are plain
//! methods on `&Shop`.
//!
//! The shop's data is private to this module and its files, each of which
//! owns one concern:
//!
//! - `agents`: agents and groups, and the commands that change them; the one
//!   way to change an agent (`agent_mut`), which marks its record changed.
//! - `pools`: the per-pool indexes of agents (shop, groups, rules) that make a
//!   decision O(log n), kept up to date agent by agent.
//! - `routing`: the decision of section 2 of the spec, and its explanation.
//! - `placement`: where each conversation is: the one owner of agents' load
//!   and unreplied counts, the active conversations of each agent, the
//!   buyers' open and last conversations, and the queue (assign, release,
//!   enqueue, requeue, drain).
//! - `lifecycle`: inquiries, messages and the reply clock, ends, cancels,
//!   ratings and proactive conversations.
//! - `transfer`: moving an active conversation to another agent or a group.
//! - `offers`: offers (assignment mode `offer`): accepting, rejecting,
//!   lapsing, and deciding again without the agents who declined.
//! - `reassign`: reply or reassign, and agents set busy after misses.
//! - `daylog`: the day's log of inputs and outcomes, when kept.
//! - `orders`: orders, their credit and their expiry.
//! - `recent`: the buyers' recent agents (最近联系客服) and their expiry.
//! - `timers`: arming and firing the timers of conversations.
//! - `figures`: the daily figures, agents' time online, and the ranking.
//! - `service`: the shop's figures of the day (`GET /stats`) and the wait
//!   estimate of queued conversations.
//! - `persist`: the records of a shop, and a shop rebuilt from them.
//! - `check`: the invariants, checked after every command in debug builds.

mod agents;
mod check;
mod daylog;
mod figures;
mod lifecycle;
mod offers;
mod orders;
mod persist;
mod placement;
mod pools;
mod reassign;
mod recent;
mod routing;
pub mod service;
mod timers;
mod transfer;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rand::Rng;

use crate::agent::Agent;
pub use crate::agent::MAX_DISPLAY_NAME;
use crate::conversation::Conversation;
use crate::deadlines::{Deadlines, Timer};
pub use crate::effects::{Command, Effects, Event, Party, Reply};
use crate::error::CoreResult;
use crate::ids::{AgentId, BuyerId, ConversationId, GroupId, IdMap, IdSet, ShopId, Tag};
use crate::index::{Pool, Slot};
use crate::lazy::{empty, Lazy};
use crate::queue::Queue;
use crate::records::{Meta, RecordKey};
pub use crate::records::{OrderRecord, RecentContact};
use crate::rule_index::RuleIndex;
use crate::settings::RoutingSettings;
use crate::stats::{AgentDay, ShopDay};
use crate::time::{Day, Millis};

// What an idle shop reads but never writes is allocated on first write (see
// `crate::lazy`): a node holds thousands of idle shops.
empty!(
    Vec<Slot>,
    Pool,
    IdMap<GroupId, Pool>,
    Vec<pools::TargetPool>,
    Vec<Vec<pools::TargetSet>>,
    RuleIndex,
    IdMap<BuyerId, ConversationId>,
    Queue,
    Deadlines<Timer>,
    Deadlines<BuyerId>,
    BTreeSet<(Millis, Tag)>,
    IdMap<BuyerId, Millis>,
    VecDeque<Millis>,
    RoutingSettings,
    BTreeMap<GroupId, BTreeSet<AgentId>>,
    IdMap<BuyerId, RecentContact>,
    HashMap<Tag, OrderRecord>,
    BTreeMap<Day, IdMap<AgentId, AgentDay>>,
    BTreeMap<Day, IdMap<AgentId, IdSet<BuyerId>>>,
    BTreeMap<Day, ShopDay>,
    Effects,
);

/// Derived lookups, rebuilt from the stored records.
#[derive(Clone, Debug, Default)]
struct Derived {
    by_id: BTreeMap<AgentId, Slot>,
    free_slots: Lazy<Vec<Slot>>,
    pool: Lazy<Pool>,
    group_pools: Lazy<IdMap<GroupId, Pool>>,
    /// The pools of the rules' target sets that are neither the shop nor
    /// one group (a rule's own, and widened by its escalation steps).
    target_pools: Lazy<Vec<pools::TargetPool>>,
    /// The target set of each rule, by rule index, then by escalation steps
    /// reached (0: the rule's own).
    rule_targets: Lazy<Vec<Vec<pools::TargetSet>>>,
    /// The target pools that hold each agent, by slot (as long as `agents`).
    pools_by_slot: Vec<Vec<usize>>,
    /// The rules, filed for finding the first that matches.
    rule_index: Lazy<RuleIndex>,
    /// The active conversations of each agent, by slot (as long as
    /// `agents`), in no order.
    active_by_slot: Vec<Vec<ConversationId>>,
    pools_day: Day,
    open_by_buyer: Lazy<IdMap<BuyerId, ConversationId>>,
    last_by_buyer: Lazy<IdMap<BuyerId, ConversationId>>,
    queue: Lazy<Queue>,
    timers: Lazy<Deadlines<Timer>>,
    /// Expiries of recent contacts, with those of mappings refreshed since
    /// left behind (see [`Deadlines`]).
    recent_expiry: Lazy<Deadlines<BuyerId>>,
    order_expiry: Lazy<BTreeSet<(Millis, Tag)>>,
    last_order_at: Lazy<IdMap<BuyerId, Millis>>,
    /// When queued conversations were placed, over the last
    /// [`service::ESTIMATE_WINDOW_MS`]: the wait estimate's history.
    placed: Lazy<VecDeque<Millis>>,
    /// The opening the queue waits for, when a deadline for it is armed.
    opening: Option<Millis>,
}

/// One shop: settings, agents, groups, conversations, queue, recent
/// contacts, orders and daily figures.
#[derive(Clone, Debug)]
pub struct Shop {
    id: ShopId,
    meta: Meta,
    settings: Lazy<RoutingSettings>,
    agents: Vec<Option<Agent>>,
    groups: Lazy<BTreeMap<GroupId, BTreeSet<AgentId>>>,
    /// Boxed: a B-tree node holds eleven entries, and with the conversation
    /// itself in it a node is 5 KiB, half empty when ids only grow, and a
    /// lookup misses the cache at every level (the node's length sits after
    /// its values).
    conversations: BTreeMap<ConversationId, Box<Conversation>>,
    recent: Lazy<IdMap<BuyerId, RecentContact>>,
    orders: Lazy<HashMap<Tag, OrderRecord>>,
    /// Figures by day, then by agent. Only today and yesterday are kept, so
    /// the outer map is tiny; the inner one is hashed because every reception
    /// updates it, and an ordered map keyed by (day, agent id) cost a dozen
    /// string comparisons per update in a shop of thousands of agents.
    stats: Lazy<BTreeMap<Day, IdMap<AgentId, AgentDay>>>,
    /// The buyers each agent received, by day: what makes `receptions`
    /// count distinct buyers. Each pair is its own record, written once.
    received: Lazy<BTreeMap<Day, IdMap<AgentId, IdSet<BuyerId>>>>,
    /// The shop's own figures by day (today's and yesterday's).
    days: Lazy<BTreeMap<Day, ShopDay>>,
    d: Derived,
    fx: Lazy<Effects>,
    /// The day's log, when the shop keeps one (not stored).
    log: Option<daylog::DayLog>,
}

impl Shop {
    /// An empty shop with default settings.
    pub fn new(id: ShopId) -> Self {
        Self {
            id,
            meta: Meta::default(),
            settings: Lazy::default(),
            agents: Vec::new(),
            groups: Lazy::default(),
            conversations: BTreeMap::new(),
            recent: Lazy::default(),
            orders: Lazy::default(),
            stats: Lazy::default(),
            received: Lazy::default(),
            days: Lazy::default(),
            // The default strategy keeps no index beyond the default pool's.
            d: Derived::default(),
            fx: Lazy::default(),
            log: None,
        }
    }

    /// The shop's id.
    pub fn id(&self) -> &ShopId {
        &self.id
    }

    /// The routing settings.
    pub fn settings(&self) -> &RoutingSettings {
        &self.settings
    }

    /// The shop day containing `now`.
    pub fn today(&self, now: Millis) -> Day {
        self.settings.timezone.day_of(now)
    }

    /// Applies one command. On error nothing has changed.
    pub fn handle<R: Rng + ?Sized>(
        &mut self,
        cmd: Command,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<(Reply, Effects)> {
        self.log_start(now);
        self.fire_timers(now, rng);
        let input = self.log_input_of(&cmd);
        let reply = self.dispatch(cmd, now, rng);
        self.debug_check(now);
        if let (Some(input), Ok(reply)) = (input, &reply) {
            self.log_input(input, reply, now);
        }
        self.log_outcomes(now);
        match reply {
            Ok(reply) => Ok((reply, self.take_effects())),
            // Commands validate before they mutate, so only timer effects
            // can be pending here (logged); they must still be persisted.
            Err(e) => Err(e),
        }
    }

    /// Hands a command to the method that applies it.
    fn dispatch<R: Rng + ?Sized>(
        &mut self,
        cmd: Command,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        match cmd {
            Command::UpsertAgent {
                agent,
                display_name,
                weight,
                groups,
            } => self.upsert_agent(agent, display_name, weight, groups, now, rng),
            Command::DeleteAgent(agent) => self.delete_agent(&agent, now, rng),
            Command::SetStatus(agent, status) => self.set_status(&agent, status, None, now, rng),
            Command::PresenceLapsed(agent) => self.presence_lapsed(&agent, now, rng),
            Command::SetMaxLoad(agent, max) => self.set_max_load(&agent, max, now, rng),
            Command::PutGroup(group, members) => self.put_group(group, members, now, rng),
            Command::SetRouting(settings) => self.set_routing(*settings, now, rng),
            Command::Inquire(inquiry) => self.inquire(inquiry, now, rng),
            Command::Message(id, from) => self.message(id, from, now, rng),
            Command::Transfer(id, to) => self.transfer(id, &to, now, rng),
            Command::TransferToGroup(id, group) => self.transfer_to_group(id, &group, now, rng),
            Command::End(id, why) => self.end(id, why, now, rng),
            Command::Cancel(id) => self.cancel(id, now, rng),
            Command::InviteRating(id) => self.invite_rating(id, now),
            Command::Rate(id, stars) => self.rate(id, stars, now),
            Command::OpenProactive(agent, buyer) => self.open_proactive(&agent, buyer, now),
            Command::Order(order, buyer) => self.order(order, buyer, now),
            Command::Accept(id) => self.accept(id, now),
            Command::Reject(id) => self.reject(id, now, rng),
        }
    }

    /// The shop's counters, to change: their record is marked changed.
    fn meta_mut(&mut self) -> &mut Meta {
        self.fx.changed.push(RecordKey::Meta);
        &mut self.meta
    }

    /// Effects left behind by a refused command (timers that fired first).
    pub fn take_effects(&mut self) -> Effects {
        let mut fx = self.fx.take();
        fx.changed.settle();
        let changed = !fx.changed.is_empty();
        self.log_taken(&mut fx.facts, changed);
        fx
    }

    /// Fires every timer due at `now`.
    pub fn tick<R: Rng + ?Sized>(&mut self, now: Millis, rng: &mut R) -> Effects {
        self.log_start(now);
        self.fire_timers(now, rng);
        self.debug_check(now);
        self.log_outcomes(now);
        self.take_effects()
    }

    /// Replaces the routing settings, bringing every index and timer built
    /// from them up to date.
    fn set_routing<R: Rng + ?Sized>(
        &mut self,
        settings: RoutingSettings,
        now: Millis,
        rng: &mut R,
    ) -> CoreResult<Reply> {
        settings.validate()?;
        let order_changed = settings.queue.order != self.settings.queue.order;
        // Escalation deadlines follow the rules.
        let timers_changed = settings.timers != self.settings.timers
            || settings.rules != self.settings.rules
            || settings.hours != self.settings.hours
            || settings.timezone != self.settings.timezone;
        *self.settings = settings;
        self.fx.changed.push(RecordKey::Settings);
        if order_changed {
            // Keys keep their arrival order; only the direction of service flips.
            self.fx.changed.push(RecordKey::Meta);
        }
        self.reindex_all(self.today(now));
        self.rebuild_rule_indexes();
        if timers_changed {
            // Pending timers and order expiries were set with the old
            // durations: set them again with the new ones, as a restore
            // would, and fire those that are now due.
            self.rebuild_timers(now);
            self.fire_timers(now, rng);
        }
        self.drain(now, rng);
        Ok(Reply::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether each of the shop's lazy parts is allocated.
    fn lazy_parts(shop: &Shop) -> [bool; 22] {
        let d = &shop.d;
        [
            d.free_slots.is_allocated(),
            d.pool.is_allocated(),
            d.group_pools.is_allocated(),
            d.target_pools.is_allocated(),
            d.rule_targets.is_allocated(),
            d.rule_index.is_allocated(),
            d.open_by_buyer.is_allocated(),
            d.last_by_buyer.is_allocated(),
            d.queue.is_allocated(),
            d.timers.is_allocated(),
            d.recent_expiry.is_allocated(),
            d.order_expiry.is_allocated(),
            d.last_order_at.is_allocated(),
            d.placed.is_allocated(),
            shop.settings.is_allocated(),
            shop.groups.is_allocated(),
            shop.recent.is_allocated(),
            shop.orders.is_allocated(),
            shop.stats.is_allocated(),
            shop.received.is_allocated(),
            shop.days.is_allocated(),
            shop.fx.is_allocated(),
        ]
    }

    #[test]
    fn a_shop_restored_from_nothing_allocates_none_of_its_lazy_parts() {
        // Act
        let shop = Shop::restore(ShopId::parse("s").unwrap(), Vec::new(), 0);

        // Assert
        assert_eq!(lazy_parts(&shop), [false; 22]);
    }

    #[test]
    fn an_idle_shop_whose_timers_are_looked_at_allocates_none_of_its_lazy_parts() {
        // Arrange: what a node does to a shop it starts for a read.
        let mut shop = Shop::restore(ShopId::parse("s").unwrap(), Vec::new(), 0);
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1);

        // Act: its timers fired on two days, and a refused command.
        let first = shop.tick(1_795_399_200_000, &mut rng);
        let next_day = shop.tick(1_795_399_200_000 + 86_400_000, &mut rng);
        let refused = shop.handle(
            Command::Cancel(ConversationId(1)),
            1_795_399_200_001,
            &mut rng,
        );

        // Assert
        assert!(first.is_empty() && next_day.is_empty() && refused.is_err());
        assert_eq!(lazy_parts(&shop), [false; 22]);
    }
}
