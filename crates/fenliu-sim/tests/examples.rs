//! The examples in `examples/sim/`, run as they are: figures that follow
//! from their settings.

use std::path::PathBuf;

use fenliu_sim::figures::{AgentFigures, VariantFigures};
use fenliu_sim::{simulate, Outcome, Scenario};

fn example(name: &str) -> (Scenario, Outcome) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/sim")
        .join(name);
    let sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let outcome = simulate(&sc, sc.seed, &mut || {});
    (sc, outcome)
}

fn variant<'a>(outcome: &'a Outcome, name: &str) -> (usize, &'a VariantFigures) {
    let i = outcome
        .report
        .variants
        .iter()
        .position(|v| v.name == name)
        .expect("variant");
    (i, &outcome.report.variants[i])
}

fn agent<'a>(v: &'a VariantFigures, id: &str) -> &'a AgentFigures {
    v.agents.iter().find(|a| a.agent_id == id).expect("agent")
}

#[test]
fn even_floods_the_late_shift_at_noon_and_fair_and_least_saturation_do_not() {
    // Arrange
    let (sc, outcome) = example("shifts.toml");
    let position = |id: &str| sc.agents.iter().position(|a| a.id.as_str() == id).unwrap();
    let (a, b) = (position("A"), position("B"));
    let (even, _) = variant(&outcome, "even");
    let (least, _) = variant(&outcome, "least_saturation");
    let (fair, fair_figures) = variant(&outcome, "fair");

    // Act: each agent's highest saturation between 12:00 and 13:00.
    let noon = |v: usize, agent: usize| {
        outcome.runs[v].agents[agent]
            .saturation
            .max_between(12 * 60, 13 * 60)
    };

    // Assert: even gives B (nothing assigned yet today) every new buyer, so
    // B is fuller and A emptier than when the load is shared.
    assert!(
        noon(even, b) > noon(least, b),
        "B at noon: even {} vs least_saturation {}",
        noon(even, b),
        noon(least, b)
    );
    assert!(
        noon(even, a) < noon(least, a),
        "A at noon: even {} vs least_saturation {}",
        noon(even, a),
        noon(least, a)
    );
    // `fair` lets B catch up with A's rate per hour online in its first hour
    // (B gets most of 12:00–13:00 under both), then shares; `even` floods B
    // until B has had as many as A since 08:00 (about 16:00). So B is fuller
    // under `even` over 13:00–16:00, the hours after its first.
    let mean_13_16 = |v: usize| {
        let bins = &outcome.runs[v].agents[b].saturation.bins()[13 * 12..16 * 12];
        bins.iter().sum::<f64>() / bins.len() as f64
    };
    assert!(
        mean_13_16(even) > mean_13_16(fair),
        "B over 13:00-16:00: even {} vs fair {}",
        mean_13_16(even),
        mean_13_16(fair)
    );
    // And the wait estimate was given and measured.
    assert!(fair_figures.wait_estimate_mae_secs.is_some());
}

#[test]
fn weights_5_to_3_split_receptions_5_to_3() {
    // Arrange
    let (_, outcome) = example("weights.toml");
    let (_, weighted) = variant(&outcome, "weighted");
    let (_, even) = variant(&outcome, "even");

    // Act
    let share = |v: &VariantFigures| {
        let heavy = f64::from(agent(v, "heavy").receptions);
        heavy / (heavy + f64::from(agent(v, "light").receptions))
    };

    // Assert: 5/8 of the buyers within 3 percentage points (3.4 standard
    // deviations of a binomial split of 3000), where even gives 1/2.
    assert!(
        (share(weighted) - 5.0 / 8.0).abs() < 0.03,
        "heavy's share under weighted: {}",
        share(weighted)
    );
    assert!(
        (share(even) - 0.5).abs() < 0.01,
        "heavy's share under even: {}",
        share(even)
    );
    assert_eq!(
        weighted.queued, 0,
        "nobody is saturated, so the split is the weights'"
    );
}

#[test]
fn without_the_queue_nobody_waits_and_agents_go_beyond_max_load() {
    // Arrange
    let (_, outcome) = example("surge.toml");
    let (_, queue) = variant(&outcome, "queue");
    let (_, no_queue) = variant(&outcome, "no_queue");

    // Assert
    assert!(queue.queued > 0, "the surge queues with the queue on");
    assert_eq!(no_queue.queued, 0);
    assert_eq!(no_queue.abandoned, 0);
    assert_eq!(no_queue.wait_secs.max, None);
    assert_eq!(no_queue.assigned_at_once, no_queue.inquiries);
    assert_eq!(
        queue.agents_over_max_load, 0,
        "the queue path never exceeds max load"
    );
    assert!(no_queue.agents_over_max_load > queue.agents_over_max_load);
}

#[test]
fn an_order_state_binding_keeps_after_sale_buyers_with_the_after_sale_group() {
    // Arrange
    let (sc, outcome) = example("order-state.toml");
    let buyers = fenliu_sim::buyers::draw(&sc, sc.seed);
    let after1 = sc
        .agents
        .iter()
        .position(|a| a.id.as_str() == "after1")
        .unwrap() as u32;

    let bound = sc
        .variants
        .iter()
        .zip(&outcome.runs)
        .filter(|(v, _)| v.name != "escalated");
    for (v, run) in bound {
        // Act
        let placed = buyers
            .iter()
            .zip(&run.first_agent)
            .filter_map(|(b, a)| a.map(|a| (b, a)));

        // Assert: after-sale buyers go to after1 (the only member of the
        // after-sale group), everyone else to the pre-sale group.
        let mut after_sale = 0;
        for (buyer, agent) in placed {
            let is_after_sale = buyer
                .inquiry
                .order_state
                .as_ref()
                .is_some_and(|s| s.as_str() == "after_sale");
            assert_eq!(
                agent == after1,
                is_after_sale,
                "{}: {:?} went to agent {agent}",
                v.name,
                buyer.inquiry
            );
            after_sale += u32::from(is_after_sale);
        }
        assert!(
            after_sale > 100,
            "{}: the example has after-sale buyers",
            v.name
        );
    }
}

#[test]
fn escalating_after_sale_buyers_to_the_shop_cuts_their_waits() {
    // Arrange
    let (sc, outcome) = example("order-state.toml");
    let buyers = fenliu_sim::buyers::draw(&sc, sc.seed);
    let (_, bound) = variant(&outcome, "least_saturation");
    let (escalated, figures) = variant(&outcome, "escalated");
    let after1 = sc
        .agents
        .iter()
        .position(|a| a.id.as_str() == "after1")
        .unwrap() as u32;

    // Act: who took the after-sale buyers, and how long buyers waited.
    let helped = buyers
        .iter()
        .zip(&outcome.runs[escalated].first_agent)
        .filter(|(b, a)| {
            let after_sale = b
                .inquiry
                .order_state
                .as_ref()
                .is_some_and(|s| s.as_str() == "after_sale");
            after_sale && a.is_some_and(|a| a != after1)
        })
        .count();

    // Assert: some after-sale buyers were taken by the pre-sale agents once
    // their step was reached, and the longest waits got shorter.
    assert!(helped > 0, "no after-sale buyer went beyond its group");
    let (b, e) = (bound.wait_secs.p99.unwrap(), figures.wait_secs.p99.unwrap());
    assert!(e < b, "p99 wait: escalated {e} vs bound {b}");
}
