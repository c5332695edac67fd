//! What persisting one command costs on the shop's thread: the batch of an
//! inquiry's effects (its records read out of the shop and encoded, their
//! names and expiries), in a shop of 200 online agents of max load 50 in
//! no-queue mode, the shop of `benches/loadgen.sh embedded`.
//!
//! Run with `cargo bench -p fenliu-store --bench codec`. `batch/inquiry` is
//! what a node does (records borrowed from the shop); `batch/inquiry_cloned`
//! reads each record as an owned copy first, as the node did before, so the
//! two figures of one run compare the ways.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use fenliu_core::{
    AgentId, AgentStatus, BuyerId, Command, Effects, EndReason, Entry, Inquiry, MaxLoad, Millis,
    Reply, RoutingSettings, Shop, ShopId,
};
use fenliu_store::codec::{batch_for, encode, DAY_LOG_KEPT_DAYS};
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// 2026-11-23T10:00:00+08:00.
const START: Millis = 1_795_399_200_000;

fn shop(rng: &mut SmallRng) -> Shop {
    let mut shop = Shop::new(ShopId::parse("bench").expect("valid shop id"));
    let mut settings = RoutingSettings::default();
    settings.queue.enabled = false;
    settings.recent_contact.enabled = false;
    let mut run = |shop: &mut Shop, cmd| {
        shop.handle(cmd, START, rng).expect("accepted");
    };
    run(&mut shop, Command::SetRouting(Box::new(settings)));
    for i in 0..200 {
        let agent = AgentId::parse(&format!("agent-{i}")).expect("valid agent id");
        let upsert = Command::UpsertAgent {
            agent: agent.clone(),
            display_name: None,
            weight: None,
            groups: None,
        };
        run(&mut shop, upsert);
        let max = MaxLoad::new(50).expect("valid max load");
        run(&mut shop, Command::SetMaxLoad(agent.clone(), max));
        run(&mut shop, Command::SetStatus(agent, AgentStatus::Online));
    }
    shop
}

/// A new buyer's inquiry, decided: the shop and its effects, and the
/// conversation to end again afterwards (so that loads stay as they are).
fn inquire(shop: &mut Shop, n: u64, rng: &mut SmallRng) -> (Effects, Command) {
    let inquiry = Inquiry {
        buyer_id: BuyerId::parse(&format!("buyer-{n}")).expect("valid buyer id"),
        entry: Entry::ProductDetail,
        question: None,
        order_state: None,
        product_id: None,
        intent: None,
        priority: Default::default(),
    };
    let now = START + n as Millis;
    let (reply, effects) = shop
        .handle(Command::Inquire(inquiry), now, rng)
        .expect("accepted");
    let Reply::Conversation { id, .. } = reply else {
        panic!("expected a conversation, got {reply:?}")
    };
    (effects, Command::End(id, EndReason::Service))
}

/// Times `persist` on the effects of `iters` inquiries, each decided and
/// ended again untimed.
fn timed(
    shop: &mut Shop,
    n: &mut u64,
    rng: &mut SmallRng,
    iters: u64,
    persist: impl Fn(&Shop, &Effects),
) -> Duration {
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        *n += 1;
        let (effects, end) = inquire(shop, *n, rng);
        let start = Instant::now();
        persist(shop, &effects);
        spent += start.elapsed();
        shop.handle(end, START + *n as Millis, rng)
            .expect("accepted");
    }
    spent
}

fn batch(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut shop = shop(&mut rng);
    let mut n = 0;
    let mut group = c.benchmark_group("batch");
    group.bench_function("inquiry", |b| {
        b.iter_custom(|iters| {
            timed(&mut shop, &mut n, &mut rng, iters, |shop, effects| {
                black_box(batch_for(shop, effects, DAY_LOG_KEPT_DAYS));
            })
        })
    });
    group.bench_function("inquiry_cloned", |b| {
        b.iter_custom(|iters| {
            timed(&mut shop, &mut n, &mut rng, iters, |shop, effects| {
                for key in &effects.changed {
                    if let Some(record) = shop.record(key) {
                        black_box((key.name(), encode(record.as_ref()), record.expires_at(shop)));
                    }
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
