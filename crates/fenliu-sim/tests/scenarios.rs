//! Scenario files that cannot be used are refused with the errors
//! docs/simulator.md lists: the file, the field path and why.

use std::path::Path;

use fenliu_sim::Scenario;

/// A scenario that is fine as it is; each test breaks one thing.
const GOOD: &str = r#"
seed = 1
date = "2026-12-02"

[[agents]]
id = "A"
shifts = ["08:00-18:00"]
reply_delay = { dist = "exp", mean_secs = 40 }
end_after = { dist = "fixed", secs = 60 }

[[agents]]
id = "B"
max_load = 5
shifts = ["12:00-22:00"]
reply_delay = { dist = "exp", mean_secs = 40 }
end_after = { dist = "fixed", secs = 60 }

[buyers]
inquiries = 100
patience = { dist = "exp", mean_secs = 120 }
messages = { dist = "fixed", n = 2 }

[[variants]]
name = "even"
routing = { strategy = "even" }

[[variants]]
name = "least_saturation"
routing = '{"strategy": "least_saturation"}'
"#;

fn refusal(text: &str) -> String {
    match Scenario::parse(text, "examples/sim/shifts.toml", Path::new("examples/sim")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_good_scenario_is_accepted() {
    let sc = Scenario::parse(GOOD, "good.toml", Path::new(".")).unwrap();
    assert_eq!(sc.agents.len(), 2);
    assert_eq!(sc.variants[1].name, "least_saturation");
}

#[test]
fn a_shift_past_24_hours_names_the_agent_and_the_shift() {
    let text = GOOD.replace("12:00-22:00", "12:00-25:00");
    assert_eq!(
        refusal(&text),
        r#"examples/sim/shifts.toml: agents[1].shifts[0]: "12:00-25:00": hours are 00..=24"#
    );
}

#[test]
fn overlapping_shifts_are_refused() {
    let text = GOOD.replace(r#"["08:00-18:00"]"#, r#"["08:00-12:00", "11:00-18:00"]"#);
    assert_eq!(
        refusal(&text),
        r#"examples/sim/shifts.toml: agents[0].shifts[1]: "11:00-18:00" overlaps shifts[0] "08:00-12:00""#
    );
}

#[test]
fn an_unknown_field_is_refused_with_its_line() {
    let text = GOOD.replace("max_load = 5", "max_load = 5\ncolour = \"red\"");
    let message = refusal(&text);
    assert!(
        message.starts_with("examples/sim/shifts.toml: TOML parse error at line"),
        "{message}"
    );
    assert!(message.contains("unknown field `colour`"), "{message}");
}

#[test]
fn a_max_load_out_of_range_is_refused_as_the_api_would() {
    let text = GOOD.replace("max_load = 5", "max_load = 51");
    assert_eq!(
        refusal(&text),
        "examples/sim/shifts.toml: agents[1].max_load: max_load must be between 1 and 50"
    );
}

#[test]
fn a_routing_the_api_would_refuse_is_refused() {
    let text = GOOD.replace(
        r#"{"strategy": "least_saturation"}"#,
        r#"{"strategy": "fastest"}"#,
    );
    let message = refusal(&text);
    assert!(
        message.starts_with(
            "examples/sim/shifts.toml: variants[1].routing: unknown variant `fastest`"
        ),
        "{message}"
    );
    let text = GOOD.replace(
        r#"routing = { strategy = "even" }"#,
        r#"routing = { timers = { auto_end_secs = 0 } }"#,
    );
    let message = refusal(&text);
    assert!(
        message.starts_with("examples/sim/shifts.toml: variants[0].routing: "),
        "{message}"
    );
    assert!(message.contains("auto_end_secs"), "{message}");
}

#[test]
fn a_missing_routing_file_names_the_file() {
    let text = GOOD.replace(
        r#"routing = { strategy = "even" }"#,
        r#"routing_file = "nowhere.json""#,
    );
    let message = refusal(&text);
    assert!(
        message.starts_with("examples/sim/nowhere.json: "),
        "{message}"
    );
}

#[test]
fn a_distribution_out_of_range_names_the_parameter() {
    let text = GOOD.replace("mean_secs = 120", "mean_secs = -1");
    assert_eq!(
        refusal(&text),
        "examples/sim/shifts.toml: buyers.patience: mean_secs: -1 is not above 0 and at most 604800"
    );
}

#[test]
fn one_variant_is_not_a_comparison() {
    let cut = GOOD
        .find("[[variants]]\nname = \"least_saturation\"")
        .unwrap();
    assert_eq!(
        refusal(&GOOD[..cut]),
        "examples/sim/shifts.toml: variants: a scenario compares 2 to 16 variants"
    );
}

#[test]
fn peaks_that_take_more_than_the_whole_day_are_refused() {
    let text = GOOD.replace(
        "inquiries = 100",
        "inquiries = 100\npeaks = [{ at = \"20:00\", minutes = 60, share = 0.7 }, { at = \"12:00\", minutes = 30, share = 0.6 }]",
    );
    assert_eq!(
        refusal(&text),
        "examples/sim/shifts.toml: buyers.peaks: the shares add up to 1.3, above 1"
    );
}

#[test]
fn buyers_priorities_are_0_to_9_and_drawn_by_weight() {
    let with = |mix: &str| {
        GOOD.replace(
            "inquiries = 100",
            &format!("inquiries = 100\npriorities = {mix}"),
        )
    };
    let refused = refusal(&with(r#"{ "0" = 1, "10" = 1 }"#));
    assert!(
        refused.starts_with("examples/sim/shifts.toml: buyers.priorities"),
        "{refused}"
    );

    let sc = Scenario::parse(&with(r#"{ "0" = 1, "7" = 1 }"#), "p.toml", Path::new(".")).unwrap();
    let buyers = fenliu_sim::buyers::draw(&sc, sc.seed);
    let vips = buyers
        .iter()
        .filter(|b| b.inquiry.priority.get() == 7)
        .count();
    assert!(
        (20..=80).contains(&vips),
        "{vips} of {} at priority 7",
        buyers.len()
    );
    assert!(buyers
        .iter()
        .all(|b| matches!(b.inquiry.priority.get(), 0 | 7)));
}
