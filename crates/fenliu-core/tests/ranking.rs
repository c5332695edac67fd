//! Section 4 of the spec: daily agent figures and the ranking (客服排名).

mod common;

use common::*;
use fenliu_core::stats::RankRow;
use fenliu_core::AgentStatus::{Busy, Online};
use fenliu_core::{Command, CoreError, Metric, Ranking, SortOrder, Viewer};

fn ranking(w: &World, metric: Metric, order: SortOrder) -> Ranking {
    w.shop
        .ranking(metric, order, None, &Viewer::Everyone, w.now)
        .unwrap()
}

fn row<'r>(r: &'r Ranking, agent: &str) -> &'r RankRow {
    r.agents
        .iter()
        .find(|row| row.agent_id.as_str() == agent)
        .unwrap_or_else(|| panic!("{agent} not in the ranking"))
}

fn order_of(r: &Ranking) -> Vec<(&str, Option<u32>)> {
    r.agents
        .iter()
        .map(|row| (row.agent_id.as_str(), row.rank))
        .collect()
}

/// Serves `buyers` with `agent` only (everybody else busy meanwhile), each
/// conversation replied after `reply_after` and ended.
fn serve(w: &mut World, agent: &str, buyers: &[&str], reply_after: i64) {
    let others: Vec<String> = w
        .shop
        .agents()
        .filter(|a| a.id.as_str() != agent && a.status == Online)
        .map(|a| a.id.to_string())
        .collect();
    for o in &others {
        w.set_status(o, Busy);
    }
    w.set_status(agent, Online);
    for b in buyers {
        let c = w.inquire(b);
        assert_eq!(w.agent_of(c.id).as_deref(), Some(agent));
        w.now += reply_after;
        w.agent_says(c.id);
        w.end(c.id);
    }
    for o in &others {
        w.set_status(o, Online);
    }
}

/// a: 3 buyers, b: 1 buyer twice, c: nobody.
fn three_agents() -> World {
    let mut w = World::new();
    w.online("a").online("b").online("c");
    serve(&mut w, "a", &["x1", "x2", "x3"], SEC);
    serve(&mut w, "b", &["y1", "y1"], SEC);
    w
}

#[test]
fn receptions_count_distinct_buyers_and_sessions_count_conversations() {
    let w = three_agents();

    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);

    assert_eq!((row(&r, "a").receptions, row(&r, "a").sessions), (3, 3));
    assert_eq!((row(&r, "b").receptions, row(&r, "b").sessions), (1, 2));
    assert_eq!((row(&r, "c").receptions, row(&r, "c").sessions), (0, 0));
}

#[test]
fn ranking_by_receptions_descending_and_ascending() {
    let w = three_agents();

    let desc = ranking(&w, Metric::Receptions, SortOrder::Desc);
    let asc = ranking(&w, Metric::Receptions, SortOrder::Asc);

    assert_eq!(
        order_of(&desc),
        vec![("a", Some(1)), ("b", Some(2)), ("c", None)]
    );
    assert_eq!(
        order_of(&asc),
        vec![("b", Some(1)), ("a", Some(2)), ("c", None)]
    );
}

#[test]
fn ranking_by_sessions() {
    let mut w = three_agents();
    serve(&mut w, "b", &["y1", "y1"], SEC);

    let r = ranking(&w, Metric::Sessions, SortOrder::Desc);

    assert_eq!(order_of(&r)[..2], [("b", Some(1)), ("a", Some(2))]);
    assert_eq!(row(&r, "b").sessions, 4);
}

#[test]
fn reply_rate_3m_is_on_time_conversations_over_clocked_ones() {
    let mut w = World::new();
    w.online("a").online("b");
    serve(&mut w, "a", &["x1", "x2", "x3"], 3 * MIN + 1);
    serve(&mut w, "a", &["x4"], MIN);
    serve(&mut w, "b", &["y1", "y2"], MIN);

    let r = ranking(&w, Metric::ReplyRate3m, SortOrder::Desc);

    assert_eq!(row(&r, "a").reply_rate_3m, Some(0.25));
    assert_eq!(row(&r, "b").reply_rate_3m, Some(1.0));
    assert_eq!(order_of(&r), vec![("b", Some(1)), ("a", Some(2))]);
    assert_eq!(r.average, Some(0.625));
}

#[test]
fn satisfaction_rate_is_satisfied_ratings_over_ratings() {
    let mut w = World::new();
    w.online("a");
    for (i, stars) in [5, 4, 2].into_iter().enumerate() {
        let c = w.inquire(&format!("b{i}"));
        w.ok(Command::Rate(c.id, stars));
        w.end(c.id);
    }
    w.inquire("unrated");

    let r = ranking(&w, Metric::SatisfactionRate, SortOrder::Desc);

    let a = row(&r, "a");
    assert!((a.satisfaction_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(a.rank, Some(1));
}

#[test]
fn agent_without_a_rating_has_no_satisfaction_rate_and_no_rank_for_it() {
    let w = three_agents();

    let r = ranking(&w, Metric::SatisfactionRate, SortOrder::Desc);

    assert!(r.agents.iter().all(|row| row.satisfaction_rate.is_none()));
    assert!(r.agents.iter().all(|row| row.rank.is_none()));
    assert_eq!(r.average, None);
}

#[test]
fn ties_share_a_rank() {
    let mut w = World::new();
    w.online("a").online("b").online("c");
    serve(&mut w, "a", &["x1", "x2"], SEC);
    serve(&mut w, "b", &["y1", "y2"], SEC);
    serve(&mut w, "c", &["z1"], SEC);

    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);

    assert_eq!(
        order_of(&r),
        vec![("a", Some(1)), ("b", Some(1)), ("c", Some(3))]
    );
}

#[test]
fn ranking_over_one_group() {
    let mut w = three_agents();
    w.put_group("g", &["b", "c"]);

    let r = w
        .shop
        .ranking(
            Metric::Receptions,
            SortOrder::Desc,
            Some(&gid("g")),
            &Viewer::Everyone,
            w.now,
        )
        .unwrap();

    assert_eq!(order_of(&r), vec![("b", Some(1)), ("c", None)]);
    assert_eq!(r.average, Some(1.0));
}

#[test]
fn ranking_of_an_unknown_group_is_not_found() {
    let w = three_agents();

    let r = w.shop.ranking(
        Metric::Receptions,
        SortOrder::Desc,
        Some(&gid("nope")),
        &Viewer::Everyone,
        w.now,
    );

    assert!(matches!(r, Err(CoreError::NotFound(_))));
}

#[test]
fn average_is_over_agents_with_at_least_one_reception() {
    let w = three_agents();

    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);

    // (3 + 1) / 2: c, who received nobody, does not pull it down.
    assert_eq!(r.average, Some(2.0));
}

#[test]
fn rank_change_is_yesterdays_rank_minus_todays() {
    let mut w = World::new();
    w.online("a").online("b").online("c");
    serve(&mut w, "a", &["x1", "x2", "x3"], SEC);
    serve(&mut w, "b", &["y1", "y2"], SEC);
    serve(&mut w, "c", &["z1"], SEC);
    w.now += DAY;
    serve(&mut w, "c", &["z1", "z2", "z3"], SEC);
    serve(&mut w, "a", &["x1", "x2"], SEC);

    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);

    assert_eq!(row(&r, "c").rank, Some(1));
    assert_eq!(row(&r, "c").rank_change, Some(2), "from 3rd to 1st");
    assert_eq!(row(&r, "a").rank_change, Some(-1), "from 1st to 2nd");
    assert_eq!(row(&r, "b").rank, None);
    assert_eq!(row(&r, "b").rank_change, None, "unranked today");
}

#[test]
fn rank_change_is_null_for_an_agent_unranked_yesterday() {
    let mut w = World::new();
    w.online("a").online("b");
    serve(&mut w, "a", &["x1"], SEC);
    w.now += DAY;
    serve(&mut w, "b", &["y1"], SEC);
    serve(&mut w, "a", &["x1"], SEC);

    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);

    assert_eq!(row(&r, "b").rank, Some(1));
    assert_eq!(row(&r, "b").rank_change, None);
    assert_eq!(row(&r, "a").rank_change, Some(0));
}

#[test]
fn figures_start_again_at_the_shops_midnight() {
    let mut w = three_agents();
    let midnight = fenliu_core::TzOffset::CST.start_of(w.shop.today(w.now) + 1);

    w.now = midnight - 1;
    assert_eq!(
        ranking(&w, Metric::Receptions, SortOrder::Desc).agents[0].receptions,
        3
    );
    w.now = midnight;
    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);

    assert!(r.agents.iter().all(|row| row.receptions == 0));
    assert_eq!(r.date, w.shop.today(midnight));
}

#[test]
fn hidden_leaderboard_shows_an_agent_only_its_own_figures() {
    let mut w = three_agents();
    w.routing(|r| r.leaderboard_visible = false);

    let mine = w
        .shop
        .ranking(
            Metric::Receptions,
            SortOrder::Desc,
            None,
            &Viewer::Agent(aid("b")),
            w.now,
        )
        .unwrap();
    let admin = ranking(&w, Metric::Receptions, SortOrder::Desc);

    assert_eq!(order_of(&mine), vec![("b", Some(2))]);
    assert_eq!(admin.agents.len(), 3);
    assert_eq!(admin.average, Some(2.0));
}

#[test]
fn visible_leaderboard_shows_agents_everybody() {
    let w = three_agents();

    let r = w
        .shop
        .ranking(
            Metric::Receptions,
            SortOrder::Desc,
            None,
            &Viewer::Agent(aid("c")),
            w.now,
        )
        .unwrap();

    assert_eq!(r.agents.len(), 3);
}

#[test]
fn transfer_counts_a_reception_for_the_receiving_agent() {
    let mut w = World::new();
    w.agent("a", Online, 5).agent("b", Busy, 5);
    let c = w.inquire("b1");

    w.transfer(c.id, "b");

    let r = ranking(&w, Metric::Receptions, SortOrder::Desc);
    assert_eq!(row(&r, "a").receptions, 1);
    assert_eq!(row(&r, "b").receptions, 1);
}

#[test]
fn conversation_assigned_before_midnight_and_late_after_counts_as_late_that_day() {
    let mut w = World::new();
    w.online("a");
    let midnight = fenliu_core::TzOffset::CST.start_of(w.shop.today(w.now) + 1);
    w.now = midnight - MIN;
    let day = w.shop.today(w.now);
    let c = w.inquire("b1");

    w.advance(5 * MIN);
    w.agent_says(c.id);

    let figs = w.shop.agent_day(day, &aid("a")).unwrap();
    assert_eq!((figs.clocked, figs.late), (1, 1));
}
