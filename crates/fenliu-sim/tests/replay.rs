//! Replaying a recorded day (spec §10): a day recorded by driving a
//! `fenliu_core::Shop` that keeps its day log, then replayed from its JSON
//! lines — under the recorded settings it must decide exactly as the record
//! did; under other settings the figures move the expected way.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use fenliu_core::{
    AgentId, AgentStatus, BuyerId, Command, ConversationId, Effects, EndReason, Entry, Event,
    Inquiry, MaxLoad, Millis, Party, Reply, RoutingSettings, Shop, ShopId, TzOffset, Weight,
};
use fenliu_sim::replay::{self, Export, ReplayError};
use fenliu_sim::scenario::Variant;
use fenliu_sim::streams::core_rng;
use rand::rngs::{SmallRng, StdRng};
use rand::{Rng, SeedableRng};

/// 2026-11-23T08:00:00+08:00.
const T0: Millis = 1_795_363_200_000 + 8 * HOUR;
const SEC: Millis = 1_000;
const MIN: Millis = 60 * SEC;
const HOUR: Millis = 60 * MIN;
const SEED: u64 = 7;

fn aid(raw: &str) -> AgentId {
    AgentId::parse(raw).unwrap()
}

fn variant(name: &str, json: &str) -> Variant {
    replay::parse_variant(name, &format!("{name}.json"), json, TzOffset::CST).unwrap()
}

/// What the recorded day's people do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Do {
    Status(usize, bool),
    Arrive(usize),
    BuyerSays(usize),
    AgentSays(usize),
    End(usize),
    Cancel(usize),
    Accept(usize),
}

/// A shop driven like a node would drive it, its facts kept as JSON lines.
struct Recorder {
    shop: Shop,
    rng: StdRng,
    heap: BinaryHeap<Reverse<(Millis, u64, Do)>>,
    seq: u64,
    lines: Vec<String>,
    ids: Vec<Option<ConversationId>>,
    chat_of: HashMap<ConversationId, usize>,
    over: Vec<bool>,
    placed: Vec<bool>,
    behaviour: SmallRng,
}

impl Recorder {
    fn schedule(&mut self, at: Millis, what: Do) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, what)));
    }

    fn keep(&mut self, fx: &Effects) {
        for f in &fx.facts {
            self.lines.push(serde_json::to_string(f).unwrap());
        }
    }

    fn run(&mut self, cmd: Command, now: Millis) -> Option<Reply> {
        let (reply, fx) = match self.shop.handle(cmd, now, &mut self.rng) {
            Ok((reply, fx)) => (Some(reply), fx),
            Err(_) => (None, self.shop.take_effects()),
        };
        self.keep(&fx);
        self.absorb(&fx, now);
        reply
    }

    fn absorb(&mut self, fx: &Effects, now: Millis) {
        for event in &fx.events {
            match event {
                Event::Assigned {
                    conversation_id, ..
                } => {
                    let Some(&c) = self.chat_of.get(conversation_id) else {
                        continue;
                    };
                    if !self.placed[c] {
                        self.placed[c] = true;
                        let reply = self.behaviour.random_range(10..90) * SEC;
                        let end = reply + self.behaviour.random_range(3..25) * MIN;
                        self.schedule(now + reply, Do::AgentSays(c));
                        self.schedule(now + reply + 20 * SEC, Do::BuyerSays(c));
                        self.schedule(now + end, Do::End(c));
                    }
                }
                Event::Offered {
                    conversation_id, ..
                } => {
                    if let Some(&c) = self.chat_of.get(conversation_id) {
                        let after = self.behaviour.random_range(1..20) * SEC;
                        self.schedule(now + after, Do::Accept(c));
                    }
                }
                Event::Ended {
                    conversation_id, ..
                }
                | Event::Cancelled {
                    conversation_id, ..
                } => {
                    if let Some(&c) = self.chat_of.get(conversation_id) {
                        self.over[c] = true;
                    }
                }
                _ => {}
            }
        }
    }

    fn act(&mut self, what: Do, now: Millis, agents: &[AgentId]) {
        let id = |c: usize, r: &Recorder| r.ids[c].filter(|_| !r.over[c]);
        match what {
            Do::Status(a, online) => {
                let status = if online {
                    AgentStatus::Online
                } else {
                    AgentStatus::Offline
                };
                self.run(Command::SetStatus(agents[a].clone(), status), now);
            }
            Do::Arrive(c) => {
                let inquiry = Inquiry {
                    buyer_id: BuyerId::parse(&format!("b{}", c % 170)).unwrap(),
                    entry: Entry::DirectMessage,
                    question: None,
                    order_state: None,
                    product_id: None,
                    intent: None,
                    priority: Default::default(),
                };
                let (reply, fx) =
                    match self
                        .shop
                        .handle(Command::Inquire(inquiry), now, &mut self.rng)
                    {
                        Ok((reply, fx)) => (Some(reply), fx),
                        Err(_) => (None, self.shop.take_effects()),
                    };
                self.keep(&fx);
                if let Some(Reply::Conversation {
                    id, created: true, ..
                }) = reply
                {
                    self.ids[c] = Some(id);
                    self.chat_of.insert(id, c);
                    // The opening message, before any placement.
                    self.schedule(now + 5 * SEC, Do::BuyerSays(c));
                    if c % 6 == 0 {
                        self.schedule(now + 3 * MIN, Do::Cancel(c));
                    }
                }
                self.absorb(&fx, now);
            }
            Do::BuyerSays(c) => {
                if let Some(id) = id(c, self) {
                    self.run(Command::Message(id, Party::Buyer), now);
                }
            }
            Do::AgentSays(c) => {
                if let Some(id) = id(c, self) {
                    self.run(Command::Message(id, Party::Agent), now);
                }
            }
            Do::End(c) => {
                if let Some(id) = id(c, self) {
                    self.run(Command::End(id, EndReason::Agent), now);
                }
            }
            Do::Accept(c) => {
                if let Some(id) = id(c, self) {
                    self.run(Command::Accept(id), now);
                }
            }
            Do::Cancel(c) => {
                if let (Some(id), false) = (id(c, self), self.placed[c]) {
                    self.run(Command::Cancel(id), now);
                }
            }
        }
    }
}

/// A recorded day: three agents of different max loads coming and going,
/// 200 inquiries over six hours with messages, ends and some cancels,
/// decided under `settings`; answered as the export's JSON lines.
fn record_day(settings: &RoutingSettings) -> String {
    let agents = [aid("ana"), aid("bo"), aid("cai")];
    let inquiries = 200;
    let mut r = Recorder {
        shop: Shop::new(ShopId::parse("rec").unwrap()),
        rng: core_rng(SEED),
        heap: BinaryHeap::new(),
        seq: 0,
        lines: Vec::new(),
        ids: vec![None; inquiries],
        chat_of: HashMap::new(),
        over: vec![false; inquiries],
        placed: vec![false; inquiries],
        behaviour: SmallRng::seed_from_u64(11),
    };
    r.shop.keep_day_log();
    let before = T0 - MIN;
    r.run(Command::SetRouting(Box::new(settings.clone())), before);
    for (a, max) in agents.iter().zip([3, 4, 2]) {
        r.run(
            Command::UpsertAgent {
                agent: a.clone(),
                display_name: None,
                weight: Some(Weight::default()),
                groups: None,
            },
            before,
        );
        r.run(
            Command::SetMaxLoad(a.clone(), MaxLoad::new(max).unwrap()),
            before,
        );
    }
    for (at, a, online) in [
        (T0, 0, true),
        (T0, 1, true),
        (T0 + 2 * HOUR, 2, true),
        (T0 + 3 * HOUR, 1, false),
        (T0 + 4 * HOUR, 1, true),
        (T0 + 5 * HOUR, 0, false),
    ] {
        r.schedule(at, Do::Status(a, online));
    }
    let mut t = T0;
    for c in 0..inquiries {
        t += r.behaviour.random_range(20..200) * SEC;
        r.schedule(t, Do::Arrive(c));
    }
    let mut last_tick = Millis::MIN;
    while let Some(&Reverse((at, _, what))) = r.heap.peek() {
        if let Some(due) = r
            .shop
            .next_deadline()
            .filter(|d| *d <= at && *d > last_tick)
        {
            let fx = r.shop.tick(due, &mut r.rng);
            last_tick = due;
            r.keep(&fx);
            r.absorb(&fx, due);
            continue;
        }
        r.heap.pop();
        r.act(what, at, &agents);
    }
    r.lines.join("\n") + "\n"
}

fn least_saturation() -> Variant {
    variant("least_saturation", r#"{"strategy": "least_saturation"}"#)
}

#[test]
fn a_replay_under_the_recorded_settings_places_every_conversation_as_the_record_did() {
    // Arrange
    let same = least_saturation();
    let text = record_day(&same.settings);
    let export = Export::parse("day.jsonl", &text).unwrap();

    // Act
    let outcome = replay::replay(&export, &[same], SEED);

    // Assert
    let recorded = &outcome.recorded_placements;
    assert_eq!(recorded.len(), 200);
    assert!(recorded.iter().filter(|p| p.is_some()).count() > 150);
    assert!(outcome.recorded.queued > 10, "the day must queue some");
    assert!(outcome.recorded.abandoned > 0, "and some buyers must leave");
    let run = &outcome.runs[0];
    for (i, (r, p)) in recorded.iter().zip(&run.placements).enumerate() {
        assert_eq!(r, p, "conversation {i}");
    }
    let (rec, var) = (
        outcome.report.recorded.as_ref().unwrap(),
        &outcome.report.variants[0],
    );
    assert_eq!(rec.inquiries, var.inquiries);
    assert_eq!(rec.assigned_at_once, var.assigned_at_once);
    assert_eq!(rec.queued, var.queued);
    assert_eq!(rec.abandoned, var.abandoned);
    assert_eq!(rec.wait_secs, var.wait_secs);
    let receptions = |f: &fenliu_sim::VariantFigures| -> Vec<u32> {
        f.agents.iter().map(|a| a.receptions).collect()
    };
    assert_eq!(receptions(rec), receptions(var));
}

#[test]
fn a_replay_without_a_queue_places_everyone_at_once() {
    // Arrange
    let text = record_day(&least_saturation().settings);
    let export = Export::parse("day.jsonl", &text).unwrap();
    let no_queue = variant(
        "no_queue",
        r#"{"strategy": "even", "queue": {"enabled": false}}"#,
    );

    // Act
    let outcome = replay::replay(&export, &[least_saturation(), no_queue], SEED);

    // Assert
    let rec = outcome.report.recorded.as_ref().unwrap();
    let open = &outcome.report.variants[1];
    assert!(rec.queued > 0);
    assert_eq!(open.queued, 0);
    assert_eq!(open.abandoned, 0);
    assert!(open.assigned_at_once > rec.assigned_at_once);
    assert!(
        open.agents_over_max_load > 0,
        "no-queue mode goes beyond max load"
    );
    let text = outcome.report.to_text();
    assert!(text.contains("recorded"), "{text}");
    assert!(text.contains("no_queue"), "{text}");
}

#[test]
fn a_malformed_line_is_refused_with_its_number() {
    let text = record_day(&least_saturation().settings);
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = r#"{"at": 1, "kind": "inquiry", "conversation_id": "#;
    let err = Export::parse("day.jsonl", &lines.join("\n")).unwrap_err();
    assert!(matches!(err, ReplayError::Line { line: 4, .. }), "{err}");
    assert!(err.to_string().starts_with("day.jsonl: line 4: "), "{err}");

    lines[3] = r#"{"at": 1, "kind": "teleport"}"#;
    let err = Export::parse("day.jsonl", &lines.join("\n")).unwrap_err();
    assert!(err.to_string().contains("line 4"), "{err}");
    assert!(err.to_string().contains("teleport"), "{err}");
}

#[test]
fn an_export_without_a_start_line_is_refused() {
    let text = record_day(&least_saturation().settings);
    let without: Vec<&str> = text.lines().skip(1).collect();
    let err = Export::parse("day.jsonl", &without.join("\n")).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    assert!(err.to_string().contains("start"), "{err}");

    let err = Export::parse("empty.jsonl", "\n").unwrap_err();
    assert!(err.to_string().contains("no start line"), "{err}");
}

#[test]
fn a_second_start_line_is_ignored() {
    // Arrange: a node reloaded the shop mid-day, with nobody online.
    let same = least_saturation();
    let text = record_day(&same.settings);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut second: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    second["at"] = serde_json::json!(T0 + HOUR);
    second["agents"] = serde_json::json!([]);
    let middle = lines.len() / 2;
    lines.insert(middle, second.to_string());
    let export = Export::parse("day.jsonl", &lines.join("\n")).unwrap();

    // Act
    let outcome = replay::replay(&export, &[same], SEED);

    // Assert
    assert_eq!(export.ignored_starts, 1);
    assert_eq!(outcome.recorded_placements, outcome.runs[0].placements);
}

#[test]
fn a_replay_in_offer_mode_accepts_at_the_recorded_delay_after_each_offer() {
    // Arrange: offers accepted 1 to 19 s after they are made (the timeout is 30 s).
    let offers = variant(
        "offers",
        r#"{"strategy": "least_saturation", "assignment": {"mode": "offer"}}"#,
    );
    let text = record_day(&offers.settings);
    assert!(text.contains(r#""kind":"accept""#));
    let export = Export::parse("day.jsonl", &text).unwrap();

    // Act
    let outcome = replay::replay(&export, &[offers], SEED);

    // Assert
    let placed = outcome.recorded_placements.iter().flatten().count();
    assert!(placed > 150, "{placed}");
    assert_eq!(outcome.recorded_placements, outcome.runs[0].placements);
}
