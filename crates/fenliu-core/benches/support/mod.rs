//! The shops the routing benchmark measures, shared with the
//! `decision_cost` example (which counts instructions under callgrind).

use fenliu_core::{
    AgentId, AgentStatus, BuyerId, Command, ConversationId, Entry, GroupId, Inquiry, MaxLoad,
    Millis, Party, Reply, Shop, ShopId, Tag, Weight,
};
use rand::rngs::SmallRng;
use rand::Rng;

/// 2026-11-23T10:00:00+08:00.
pub const START: Millis = 1_795_399_200_000;
/// Max loads handed out in turn, so that saturations differ.
pub const MAX_LOADS: [u32; 6] = [5, 8, 10, 15, 20, 30];
/// The group a rule targets: every fourth agent.
pub const GROUP: &str = "after_sale";

/// The `i`-th agent of a benchmark shop.
pub fn agent_id(i: usize) -> AgentId {
    AgentId::parse(&format!("agent-{i:05}")).expect("valid agent id")
}

/// A buyer numbered `n`.
pub fn buyer_id(prefix: &str, n: u64) -> BuyerId {
    BuyerId::parse(&format!("{prefix}-{n}")).expect("valid buyer id")
}

/// An inquiry with nothing but its entry.
pub fn inquiry(buyer: BuyerId, entry: Entry) -> Inquiry {
    Inquiry {
        buyer_id: buyer,
        entry,
        question: None,
        order_state: None,
        product_id: None,
        intent: None,
        priority: Default::default(),
    }
}

/// Runs a command that must be accepted.
pub fn run(shop: &mut Shop, cmd: Command, now: Millis, rng: &mut SmallRng) -> Reply {
    shop.handle(cmd, now, rng).expect("command accepted").0
}

/// The conversation a reply names.
pub fn conversation_of(reply: &Reply) -> ConversationId {
    match reply {
        Reply::Conversation { id, .. } => *id,
        other => panic!("expected a conversation, got {other:?}"),
    }
}

/// A shop of `n` online agents with max loads from [`MAX_LOADS`], weights 1..=5
/// and every fourth agent in [`GROUP`]. Each agent gets `load(i, max)`
/// conversations, opened proactively so that the load is exactly that; a
/// third of them have a buyer message waiting, so unreplied counts differ too.
/// Returns the shop and the first conversation of each agent.
pub fn build_shop(
    n: usize,
    rng: &mut SmallRng,
    load: impl Fn(usize, u32) -> u32,
) -> (Shop, Vec<Option<ConversationId>>) {
    let mut shop = Shop::new(ShopId::parse("bench").expect("valid shop id"));
    let group = GroupId::parse(GROUP).expect("valid group id");
    let mut orders = 0u64;
    let mut first = vec![None; n];
    for i in 0..n {
        let agent = agent_id(i);
        let groups = if i.is_multiple_of(4) {
            vec![group.clone()]
        } else {
            vec![]
        };
        let upsert = Command::UpsertAgent {
            agent: agent.clone(),
            display_name: None,
            weight: Some(Weight::new(1 + (i % 5) as u32).expect("valid weight")),
            groups: Some(groups),
        };
        run(&mut shop, upsert, START, rng);
        let max = MAX_LOADS[i % MAX_LOADS.len()];
        let max_load = MaxLoad::new(max).expect("valid max load");
        run(
            &mut shop,
            Command::SetMaxLoad(agent.clone(), max_load),
            START,
            rng,
        );
        run(
            &mut shop,
            Command::SetStatus(agent.clone(), AgentStatus::Online),
            START,
            rng,
        );
        for _ in 0..load(i, max) {
            orders += 1;
            let buyer = buyer_id("regular", orders);
            let order = Tag::parse(&format!("order-{orders}")).expect("valid order id");
            run(&mut shop, Command::Order(order, buyer.clone()), START, rng);
            let opened = run(
                &mut shop,
                Command::OpenProactive(agent.clone(), buyer),
                START,
                rng,
            );
            let id = conversation_of(&opened);
            first[i].get_or_insert(id);
            if orders.is_multiple_of(3) {
                run(&mut shop, Command::Message(id, Party::Buyer), START, rng);
            }
        }
    }
    (shop, first)
}

/// Loads of a shop of `n` agents for the decision benchmarks: anything from
/// idle to one below max, and every seventh agent saturated (agent 0, in the
/// group, never is).
pub fn mixed_loads(n: usize, rng: &mut SmallRng) -> Vec<u32> {
    (0..n)
        .map(|i| {
            let max = MAX_LOADS[i % MAX_LOADS.len()];
            if i % 7 == 3 {
                max
            } else {
                rng.random_range(0..max)
            }
        })
        .collect()
}
