//! The cost of routing decisions in instructions, which a noisy machine does
//! not blur: `bash benches/instructions.sh` runs this under callgrind and
//! counts only what [`timed_inquiry`] executes.
//!
//! `decision_cost [agents] [inquiries] [strategy]` builds the shop of the
//! routing benchmark (`benches/support`), then sends inquiries from new
//! buyers, each assigned at once and ended again untimed, a millisecond apart,
//! and prints the mean wall time per inquiry. Defaults: 1,000 agents, 4,000
//! inquiries, `least_saturation` (or `even`, `weighted`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use fenliu_core::{
    Command, CoreResult, Effects, EndReason, Entry, Millis, Reason, Reply, RoutingSettings, Shop,
    Strategy,
};
use rand::rngs::SmallRng;
use rand::SeedableRng;

#[path = "../benches/support/mod.rs"]
mod support;
use support::*;

/// The one command measured. Not inlined, so that callgrind's
/// `--toggle-collect` can count exactly its instructions.
/// The reply and effects are handed back, so that dropping them is not
/// counted, as in the benchmark.
#[inline(never)]
fn timed_inquiry(
    shop: &mut Shop,
    cmd: Command,
    now: Millis,
    rng: &mut SmallRng,
) -> (Duration, CoreResult<(Reply, Effects)>) {
    let start = Instant::now();
    let out = shop.handle(cmd, now, rng);
    if let Ok((_, fx)) = &out {
        for fact in &fx.facts {
            black_box(serde_json::to_vec(fact).expect("a fact encodes"));
        }
    }
    (start.elapsed(), out)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let agents: usize = args.next().map_or(1_000, |a| a.parse().expect("agents"));
    let inquiries: u64 = args.next().map_or(4_000, |a| a.parse().expect("inquiries"));
    let strategy = match args.next().as_deref() {
        None | Some("least_saturation") => Strategy::LeastSaturation,
        Some("even") => Strategy::Even,
        Some("weighted") => Strategy::Weighted,
        Some(other) => panic!("unknown strategy {other}"),
    };

    let mut rng = SmallRng::seed_from_u64(agents as u64);
    let loads = mixed_loads(agents, &mut rng);
    let (mut shop, _) = build_shop(agents, &mut rng, |i, _| loads[i]);
    let settings = RoutingSettings {
        strategy,
        ..RoutingSettings::default()
    };
    run(
        &mut shop,
        Command::SetRouting(Box::new(settings)),
        START,
        &mut rng,
    );
    let day_log = std::env::var("FENLIU_DAY_LOG").is_ok_and(|v| v == "1");
    if day_log {
        shop.keep_day_log();
        // The day's start line goes out with the first facts, untimed.
        let cmd = Command::Inquire(inquiry(buyer_id("first", 0), Entry::DirectMessage));
        if let Ok((Reply::Conversation { id, .. }, _)) = shop.handle(cmd, START, &mut rng) {
            run(
                &mut shop,
                Command::End(id, EndReason::Service),
                START,
                &mut rng,
            );
        }
    }

    let mut total = Duration::ZERO;
    // Inquiries arrive a millisecond apart.
    for (n, now) in (1..=inquiries).zip(START..) {
        let cmd = Command::Inquire(inquiry(buyer_id("new", n), Entry::DirectMessage));
        let (spent, out) = timed_inquiry(&mut shop, cmd, now, &mut rng);
        total += spent;
        let Ok((Reply::Conversation { id, reason, .. }, _)) = black_box(out) else {
            panic!("an inquiry answers with a conversation");
        };
        assert_eq!(reason, Reason::Default, "the example measures assignments");
        run(
            &mut shop,
            Command::End(id, EndReason::Service),
            now,
            &mut rng,
        );
    }
    println!(
        "{agents} agents, {inquiries} inquiries ({strategy:?}, day log {}): {:.0} ns per inquiry",
        if day_log { "on" } else { "off" },
        total.as_nanos() as f64 / inquiries as f64
    );
}
