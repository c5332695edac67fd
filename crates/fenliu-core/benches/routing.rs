//! Cost of one routing decision and of one queue drain, by shop size, and of
//! a queue position, by queue length.
//!
//! Run with `cargo bench -p fenliu-core --bench routing`; `docs/benchmarks.md`
//! has the figures and how to read them.
//!
//! Every iteration measures exactly one [`Shop::handle`] call on a shop of the
//! same size. The shop is built once (untimed); each timed command is undone,
//! untimed, right after (the new conversation is ended again, or the queue is
//! topped up again); commands arrive a millisecond apart; and every
//! [`PURGE_EVERY`] iterations the clock jumps past the reply window so that
//! the ended conversations are forgotten (untimed too). Cloning a shop per
//! iteration is not an option at this size: the 10,000-agent shop holds about
//! 80,000 conversations and cloning it takes milliseconds. `iter_custom` times
//! each call on its own, so every figure includes one `Instant::now` pair
//! (see the `timer_overhead` bench).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fenliu_core::inquiry::Priority;
use fenliu_core::settings::{Rule, Target, When};
use fenliu_core::{
    Command, ConversationId, EndReason, Entry, Event, GroupId, Inquiry, Millis, Reply,
    RoutingSettings, Shop, Strategy, Tag,
};
use rand::rngs::SmallRng;
use rand::SeedableRng;

mod support;
use support::*;

/// Shop sizes, in online agents.
const SIZES: [usize; 3] = [10, 1_000, 10_000];
/// Conversations waiting in the queue in the drain benchmark.
const QUEUED: usize = 10_000;
/// Timed iterations between two purges of ended conversations.
const PURGE_EVERY: u64 = 4_096;
/// Samples per benchmark, and time spent: the whole run takes about two
/// minutes on two cores, shop building included.
const SAMPLES: usize = 40;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASUREMENT: Duration = Duration::from_secs(3);
/// How far past the reply window the clock jumps to forget ended conversations.
const PURGE_SLACK: Millis = 7 * 86_400_000;
/// A shop under test, with what it takes to undo each timed command.
struct Fixture {
    shop: Shop,
    rng: SmallRng,
    now: Millis,
    buyers: u64,
    since_purge: u64,
    /// New buyers come with priorities 0 to 9 in turn.
    prioritised: bool,
}

impl Fixture {
    fn new(shop: Shop) -> Self {
        Self {
            shop,
            rng: SmallRng::seed_from_u64(7),
            now: START,
            buyers: 0,
            since_purge: 0,
            prioritised: false,
        }
    }

    /// A fixture whose new buyers carry priorities 0 to 9 in turn, in a
    /// shop that ages them every minute: the ten levels of section 8.
    fn prioritised(shop: Shop) -> Self {
        Self::levels(shop, Some(60))
    }

    /// A fixture whose new buyers carry priorities 0 to 9 in turn, in a
    /// shop that ages them every `aging_secs`, or not at all.
    fn levels(shop: Shop, aging_secs: Option<u32>) -> Self {
        let mut fx = Self::new(shop);
        fx.prioritised = true;
        let mut settings = fx.shop.settings().clone();
        settings.queue.aging_secs = aging_secs;
        fx.run(Command::SetRouting(Box::new(settings)));
        fx
    }

    fn run(&mut self, cmd: Command) -> (Reply, Vec<Event>) {
        let (reply, fx) = self
            .shop
            .handle(cmd, self.now, &mut self.rng)
            .expect("command accepted");
        (reply, fx.events)
    }

    fn new_buyer(&mut self, entry: Entry) -> Inquiry {
        self.buyers += 1;
        let mut q = inquiry(buyer_id("new", self.buyers), entry);
        if self.prioritised {
            q.priority = Priority::new((self.buyers % 10) as u32).expect("0..=9");
        }
        q
    }

    /// Moves on to the next iteration. Commands arrive a millisecond apart,
    /// as in a busy shop. Every [`PURGE_EVERY`] iterations the ended
    /// conversations are forgotten: the clock jumps well past the reply window
    /// (and the grace the shop keeps after it), the due timers fire, and the
    /// indexes are brought to the new day, all untimed, so that no timed
    /// command pays for them and the shop does not grow with the number of
    /// iterations. `ended` is one of them, checked to be gone.
    fn next_iteration(&mut self, ended: ConversationId) {
        self.now += 1;
        self.since_purge += 1;
        if self.since_purge < PURGE_EVERY {
            return;
        }
        self.since_purge = 0;
        let window = self.shop.settings().timers.reply_window_secs as i64 * 1000;
        self.now += window + PURGE_SLACK;
        black_box(self.shop.tick(self.now, &mut self.rng));
        assert!(
            self.shop.conversation(ended).is_none(),
            "ended conversations are forgotten after the jump"
        );
        // A no-op upsert brings the per-day indexes up to date.
        self.run(Command::UpsertAgent {
            agent: agent_id(0),
            display_name: None,
            weight: None,
            groups: None,
        });
    }

    /// Times `iters` inquiries of new buyers, each assigned at once and ended
    /// again (untimed) so that every decision sees the same loads.
    fn time_inquiries(&mut self, iters: u64, entry: Entry) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let cmd = Command::Inquire(self.new_buyer(entry));
            let start = Instant::now();
            let out = self.shop.handle(cmd, self.now, &mut self.rng);
            total += start.elapsed();
            let (reply, _) = out.expect("inquiry accepted");
            let Reply::Conversation { id, reason, .. } = reply else {
                panic!("an inquiry answers with a conversation");
            };
            assert!(
                matches!(
                    reason,
                    fenliu_core::Reason::Default | fenliu_core::Reason::Rule
                ),
                "the benchmark measures assignments, got {reason}"
            );
            self.run(Command::End(id, EndReason::Service));
            self.next_iteration(id);
        }
        total
    }
}

fn rule_settings() -> RoutingSettings {
    let product = |p: &str| When {
        product_id: Some(Tag::parse(p).expect("valid tag")),
        ..When::default()
    };
    let to_group = Target {
        groups: vec![GroupId::parse(GROUP).expect("valid group id")],
        ..Target::default()
    };
    let to_agent = Target {
        agents: vec![agent_id(1)],
        ..Target::default()
    };
    RoutingSettings {
        rules: vec![
            // Two rules that do not match, then the one that does.
            Rule {
                when: product("sku-1"),
                to: to_agent.clone(),
            },
            Rule {
                when: When {
                    entry: Some(Entry::Live),
                    ..When::default()
                },
                to: to_agent,
            },
            Rule {
                when: When {
                    entry: Some(Entry::OrderDetail),
                    ..When::default()
                },
                to: to_group,
            },
        ],
        ..RoutingSettings::default()
    }
}

/// The rules of `rule_group`, with the matching rule naming one agent besides
/// the group: a mixed target set, which has a pool of its own.
fn mixed_rule_settings() -> RoutingSettings {
    let mut settings = rule_settings();
    settings.rules[2].to.agents.push(agent_id(2));
    settings
}

/// Rules binding 990 products to the group, then those of `rule_group`:
/// an inquiry without a product matches the last of them.
fn many_rule_settings() -> RoutingSettings {
    let mut settings = rule_settings();
    let to_group = settings.rules[2].to.clone();
    let bindings = (0..990).map(|p| Rule {
        when: When {
            product_id: Some(Tag::parse(&format!("sku-{p}")).expect("valid tag")),
            ..When::default()
        },
        to: to_group.clone(),
    });
    settings.rules.splice(0..0, bindings);
    settings
}

fn decision(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");
    group
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    let variants: [(&str, RoutingSettings, Entry); 7] = [
        (
            "least_saturation",
            RoutingSettings::default(),
            Entry::DirectMessage,
        ),
        (
            "even",
            RoutingSettings {
                strategy: Strategy::Even,
                ..RoutingSettings::default()
            },
            Entry::DirectMessage,
        ),
        (
            "weighted",
            RoutingSettings {
                strategy: Strategy::Weighted,
                ..RoutingSettings::default()
            },
            Entry::DirectMessage,
        ),
        ("rule_group", rule_settings(), Entry::OrderDetail),
        ("rule_mixed", mixed_rule_settings(), Entry::OrderDetail),
        ("rule_many", many_rule_settings(), Entry::OrderDetail),
        (
            "rule_group_weighted",
            RoutingSettings {
                strategy: Strategy::Weighted,
                ..rule_settings()
            },
            Entry::OrderDetail,
        ),
    ];
    // The shops are built first, so that the three sizes of one variant run
    // one after the other: their ratio is what the targets are about, and on
    // a shared machine the load drifts over a run.
    let bases: Vec<(usize, Shop)> = SIZES
        .into_iter()
        .map(|n| {
            let mut rng = SmallRng::seed_from_u64(n as u64);
            let loads = mixed_loads(n, &mut rng);
            (n, build_shop(n, &mut rng, |i, _| loads[i]).0)
        })
        .collect();
    for (name, settings, entry) in &variants {
        for (n, base) in &bases {
            let mut fx = Fixture::new(base.clone());
            fx.run(Command::SetRouting(Box::new(settings.clone())));
            group.bench_with_input(BenchmarkId::new(*name, n), n, |b, _| {
                b.iter_custom(|iters| fx.time_inquiries(iters, *entry))
            });
        }
    }
    // Section 8: inquiries with priorities 0 to 9, aging on.
    for (n, base) in &bases {
        let mut fx = Fixture::prioritised(base.clone());
        group.bench_with_input(BenchmarkId::new("prioritised", n), n, |b, _| {
            b.iter_custom(|iters| fx.time_inquiries(iters, Entry::DirectMessage))
        });
    }
    group.finish();
}

fn drain(c: &mut Criterion) {
    let mut group = c.benchmark_group("drain");
    group
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    for (n, prioritised) in SIZES
        .into_iter()
        .map(|n| (n, false))
        .chain(SIZES.into_iter().map(|n| (n, true)))
    {
        let mut rng = SmallRng::seed_from_u64(n as u64);
        let (shop, first) = build_shop(n, &mut rng, |_, max| max);
        let mut fx = if prioritised {
            Fixture::prioritised(shop)
        } else {
            Fixture::new(shop)
        };
        let name = if prioritised {
            "end_places_head_prioritised"
        } else {
            "end_places_head"
        };
        for _ in 0..QUEUED {
            let q = fx.new_buyer(Entry::DirectMessage);
            fx.run(Command::Inquire(q));
        }
        assert_eq!(fx.shop.queue_len(), QUEUED);
        // One active conversation per agent, ended in turn: ending it frees
        // one slot, the queue head takes it, and the head's conversation is
        // the one this agent ends next time round.
        let mut victims: Vec<ConversationId> = first
            .into_iter()
            .map(|c| c.expect("a saturated agent has a conversation"))
            .collect();
        let mut turn = 0usize;
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let ended = victims[turn];
                    let cmd = Command::End(ended, EndReason::Agent);
                    let start = Instant::now();
                    let out = fx.shop.handle(cmd, fx.now, &mut fx.rng);
                    total += start.elapsed();
                    let events = out.expect("end accepted").1.events;
                    let placed = events.iter().find_map(|e| match e {
                        Event::Assigned {
                            conversation_id, ..
                        } => Some(*conversation_id),
                        _ => None,
                    });
                    victims[turn] = placed.expect("the freed slot takes the queue head");
                    turn = (turn + 1) % victims.len();
                    // Top the queue up again at the back.
                    let q = fx.new_buyer(Entry::DirectMessage);
                    fx.run(Command::Inquire(q));
                    fx.next_iteration(ended);
                }
                total
            })
        });
        assert_eq!(fx.shop.queue_len(), QUEUED);
    }
    group.finish();
}

/// Queue lengths in the position benchmark.
const QUEUE_LENGTHS: [usize; 3] = [1_000, 10_000, 100_000];

/// The queue position of the conversation in the middle of the queue, as
/// `GET .../conversations/{id}` answers it, by queue length.
fn position(c: &mut Criterion) {
    let mut group = c.benchmark_group("position");
    group
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    // Plain queues by length; then 100,000 in ten priority levels, without
    // and with aging.
    let cases = QUEUE_LENGTHS
        .into_iter()
        .map(|len| (len, None))
        .chain([(100_000, Some(None)), (100_000, Some(Some(60)))]);
    for (len, levels) in cases {
        let mut rng = SmallRng::seed_from_u64(len as u64);
        let (shop, _) = build_shop(10, &mut rng, |_, max| max);
        let mut fx = match levels {
            Some(aging_secs) => Fixture::levels(shop, aging_secs),
            None => Fixture::new(shop),
        };
        let mut queued = Vec::with_capacity(len);
        for _ in 0..len {
            let q = fx.new_buyer(Entry::DirectMessage);
            queued.push(conversation_of(&fx.run(Command::Inquire(q)).0));
            // Ten minutes of arrivals over the queue: with aging, waits from
            // 0 to ten aging periods, so every level holds several bands.
            fx.now += 600_000 / len as Millis;
        }
        let now = fx.now;
        let (name, middle) = match levels {
            None => ("middle", queued[len / 2]),
            Some(aging) => {
                let served = fx.shop.queue(now);
                let name = if aging.is_some() {
                    "middle_prioritised_aging"
                } else {
                    "middle_prioritised"
                };
                (name, served[len / 2].id)
            }
        };
        assert_eq!(fx.shop.position(middle, now), Some(len as u32 / 2 + 1));
        group.bench_with_input(BenchmarkId::new(name, len), &len, |b, _| {
            b.iter(|| black_box(fx.shop.position(black_box(middle), now)))
        });
    }
    group.finish();
}

/// What one `Instant::now` pair costs, to read the other figures against.
fn timer_overhead(c: &mut Criterion) {
    c.bench_function("timer_overhead", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let start = Instant::now();
                black_box(i);
                total += start.elapsed();
            }
            total
        })
    });
}

criterion_group!(benches, decision, drain, position, timer_overhead);
criterion_main!(benches);
