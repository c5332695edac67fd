//! Agents (客服): creation, defaults, updates, status, max load, groups and
//! deletion.

use serde_json::json;

use crate::helpers::{assert_error, cid, TestShop};

#[tokio::test]
async fn a_new_agent_is_offline_with_max_load_10_and_weight_1() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let created = t.put_agent("a1", json!({"display_name": "小王"})).await;

    // Assert
    assert_eq!(created["agent_id"], "a1");
    assert_eq!(created["display_name"], "小王");
    assert_eq!(created["status"], "offline");
    assert_eq!(created["load"], 0);
    assert_eq!(created["max_load"], 10);
    assert_eq!(created["saturation"], 0.0);
    assert_eq!(created["weight"], 1);
    assert_eq!(created["groups"], json!([]));
    assert_eq!(created["assigned_today"], 0);
    assert_eq!(created["unreplied"], 0);
    let listed = t.app.get(&t.path("/agents"), &t.s.admin).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["agents"], json!([created]));
}

#[tokio::test]
async fn put_agent_updates_only_the_fields_it_carries() {
    // Arrange
    let t = TestShop::start("shop");
    t.put_agent("a1", json!({"display_name": "小王", "weight": 5}))
        .await;

    // Act
    let updated = t.put_agent("a1", json!({"weight": 7})).await;

    // Assert
    assert_eq!(updated["display_name"], "小王");
    assert_eq!(updated["weight"], 7);
    let listed = t.app.get(&t.path("/agents"), &t.s.service).await;
    assert_eq!(listed.body["agents"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn agent_groups_given_on_the_agent_show_in_the_group_list() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    t.put_agent("a1", json!({"groups": ["presale", "vip"]}))
        .await;
    t.put_agent("a2", json!({"groups": ["presale"]})).await;

    // Assert
    let groups = t.app.get(&t.path("/groups"), &t.s.supervisor).await;
    assert_eq!(groups.status, 200);
    assert_eq!(
        groups.body["groups"],
        json!([
            {"group_id": "presale", "agents": ["a1", "a2"]},
            {"group_id": "vip", "agents": ["a1"]},
        ])
    );
    assert_eq!(t.agent("a1").await["groups"], json!(["presale", "vip"]));
}

#[tokio::test]
async fn put_group_replaces_its_members_and_updates_the_agents() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1", "a2", "a3"]).await;
    t.group("aftersale", &["a1", "a2"]).await;

    // Act
    let put = t
        .app
        .put(
            &t.path("/groups/aftersale"),
            &t.s.supervisor,
            json!({"agents": ["a2", "a3"]}),
        )
        .await;

    // Assert
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(
        put.body,
        json!({"group_id": "aftersale", "agents": ["a2", "a3"]})
    );
    assert_eq!(t.agent("a1").await["groups"], json!([]));
    assert_eq!(t.agent("a3").await["groups"], json!(["aftersale"]));
}

#[tokio::test]
async fn a_group_naming_an_unknown_agent_is_refused_with_404() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;

    // Act
    let put = t
        .app
        .put(
            &t.path("/groups/g1"),
            &t.s.admin,
            json!({"agents": ["a1", "ghost"]}),
        )
        .await;

    // Assert
    assert_error(&put, 404, "not_found");
    let groups = t.app.get(&t.path("/groups"), &t.s.admin).await;
    assert_eq!(groups.body["groups"], json!([]));
}

#[tokio::test]
async fn an_agent_sets_its_own_status_and_max_load() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;

    // Act
    let online = t.status("a1", "online").await;
    let busy = t.status("a1", "busy").await;
    let max = t.max_load("a1", 30).await;

    // Assert
    assert_eq!(online["status"], "online");
    assert_eq!(busy["status"], "busy");
    assert_eq!(max["max_load"], 30);
    assert_eq!(max["status"], "busy");
}

#[tokio::test]
async fn a_service_may_set_an_agents_status() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;

    // Act
    let put = t
        .app
        .put(
            &t.path("/agents/a1/status"),
            &t.s.service,
            json!({"status": "online"}),
        )
        .await;

    // Assert
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(t.agent("a1").await["status"], "online");
}

#[tokio::test]
async fn an_agent_reads_itself_and_gets_404_for_unknown_agents() {
    // Arrange
    let t = TestShop::start("shop");
    t.agents(&["a1"]).await;

    // Act
    let me = t.app.get(&t.path("/agents/a1"), &t.s.agent("a1")).await;
    let ghost = t.app.get(&t.path("/agents/ghost"), &t.s.admin).await;
    let ghost_status = t
        .app
        .put(
            &t.path("/agents/ghost/status"),
            &t.s.agent("ghost"),
            json!({"status": "online"}),
        )
        .await;

    // Assert
    assert_eq!(me.status, 200);
    assert_eq!(me.body["agent_id"], "a1");
    assert_error(&ghost, 404, "not_found");
    assert_error(&ghost_status, 404, "not_found");
}

#[tokio::test]
async fn saturation_is_load_over_max_load() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 4).await;

    // Act
    t.inquire("b1").await;

    // Assert
    let a1 = t.agent("a1").await;
    assert_eq!(a1["load"], 1);
    assert_eq!(a1["saturation"], 0.25);
    assert_eq!(a1["assigned_today"], 1);
    assert_eq!(a1["unreplied"], 1);
}

#[tokio::test]
async fn deleting_an_agent_answers_204_and_reroutes_its_active_conversations() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);
    t.online_agents(&["a2"]).await;

    // Act
    let deleted = t
        .app
        .call(
            reqwest::Method::DELETE,
            &t.path("/agents/a1"),
            Some(&t.s.admin),
            None,
        )
        .await;

    // Assert
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let c = t.conversation(&c1).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["agent_id"], "a2");
    assert_eq!(t.agent("a2").await["load"], 1);
    let gone = t.app.get(&t.path("/agents/a1"), &t.s.admin).await;
    assert_error(&gone, 404, "not_found");
}

#[tokio::test]
async fn deleting_the_only_agent_queues_its_conversations() {
    // Arrange
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let c1 = cid(&t.inquire("b1").await);

    // Act
    let deleted = t
        .app
        .call(
            reqwest::Method::DELETE,
            &t.path("/agents/a1"),
            Some(&t.s.admin),
            None,
        )
        .await;

    // Assert
    assert_eq!(deleted.status, 204);
    let c = t.conversation(&c1).await;
    assert_eq!(c["status"], "queued");
    assert_eq!(c["position"], 1);
    assert_eq!(t.queue().await["length"], 1);
}

#[tokio::test]
async fn deleting_an_unknown_agent_is_404() {
    // Arrange
    let t = TestShop::start("shop");

    // Act
    let deleted = t
        .app
        .call(
            reqwest::Method::DELETE,
            &t.path("/agents/ghost"),
            Some(&t.s.admin),
            None,
        )
        .await;

    // Assert
    assert_error(&deleted, 404, "not_found");
}

#[tokio::test]
async fn a_shop_never_written_reads_as_an_empty_shop() {
    // Arrange
    let t = TestShop::start("fresh");

    // Act
    let agents = t.app.get(&t.path("/agents"), &t.s.admin).await;
    let groups = t.app.get(&t.path("/groups"), &t.s.admin).await;
    let queue = t.queue().await;
    let routing = t.app.get(&t.path("/routing"), &t.s.admin).await;

    // Assert
    assert_eq!(agents.body, json!({"agents": []}));
    assert_eq!(groups.body, json!({"groups": []}));
    assert_eq!(queue, json!({"order": "fifo", "length": 0, "items": []}));
    assert_eq!(routing.status, 200);
    assert_eq!(routing.body["strategy"], "least_saturation");
}

#[tokio::test]
async fn a_deleted_agents_conversations_go_to_the_head_of_the_queue_in_their_order() {
    // Arrange: a2 serves b1 then b2; a1 is full with b3; b4 waits.
    let t = TestShop::start("shop");
    t.online_agents(&["a2"]).await;
    let c1 = cid(&t.inquire("b1").await);
    let c2 = cid(&t.inquire("b2").await);
    t.online_agents(&["a1"]).await;
    t.max_load("a1", 1).await;
    t.max_load("a2", 2).await;
    t.inquire("b3").await;
    let c4 = cid(&t.inquire("b4").await);

    // Act
    t.app
        .call(
            reqwest::Method::DELETE,
            &t.path("/agents/a2"),
            Some(&t.s.admin),
            None,
        )
        .await;

    // Assert
    let queue = t.queue().await;
    let order: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["conversation_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [c1.as_str(), c2.as_str(), c4.as_str()]);
}

#[tokio::test]
async fn an_agent_lists_its_active_conversations_oldest_first() {
    // Arrange: a1 takes b1, b2 and b3; b2 ends; a2 takes b4.
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for b in ["b1", "b2", "b3"] {
            ids.push(cid(&t.inquire(b).await));
        }
        ids
    };
    t.end(&ids[1]).await;
    t.online_agents(&["a2"]).await;
    t.status("a1", "busy").await;
    t.inquire("b4").await;

    // Act
    let own = t
        .app
        .get(&t.path("/agents/a1/conversations"), &t.s.agent("a1"))
        .await;
    let by_service = t
        .app
        .get(&t.path("/agents/a2/conversations"), &t.s.service)
        .await;

    // Assert
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["agent_id"], "a1");
    let listed: Vec<&str> = own.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[0].as_str(), ids[2].as_str()]);
    assert!(own.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "active" && c["agent_id"] == "a1"));
    assert_eq!(by_service.status, 200);
    assert_eq!(
        by_service.body["conversations"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn another_agents_conversations_are_forbidden_and_an_unknown_agent_is_not_found() {
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2"]).await;
    t.inquire("b1").await;

    let other = t
        .app
        .get(&t.path("/agents/a1/conversations"), &t.s.agent("a2"))
        .await;
    let unknown = t
        .app
        .get(&t.path("/agents/ghost/conversations"), &t.s.service)
        .await;

    assert_error(&other, 403, "forbidden");
    assert_error(&unknown, 404, "not_found");
}

fn listed_ids(a: &fenliu_suite::Answer) -> Vec<String> {
    a.body["agents"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", a.body))
        .iter()
        .map(|x| x["agent_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_agent_list_filters_by_status_and_group_and_pages_in_id_order() {
    // Arrange: a1..a5 online, a6 busy, a7 offline; g holds a2, a4 and a6.
    let t = TestShop::start("shop");
    t.online_agents(&["a1", "a2", "a3", "a4", "a5", "a6"]).await;
    t.status("a6", "busy").await;
    t.agents(&["a7"]).await;
    t.group("g", &["a2", "a4", "a6"]).await;
    let get = |q: &'static str| {
        let (t, q) = (&t, q);
        async move {
            t.app
                .get(&t.path(&format!("/agents?{q}")), &t.s.supervisor)
                .await
        }
    };

    // Act
    let online = get("status=online").await;
    let page = get("status=online&offset=1&limit=2").await;
    let group = get("group=g").await;
    let busy_in_group = get("group=g&status=busy").await;
    let past = get("offset=10").await;

    // Assert
    assert_eq!(listed_ids(&online), ["a1", "a2", "a3", "a4", "a5"]);
    assert_eq!(listed_ids(&page), ["a2", "a3"]);
    assert_eq!(listed_ids(&group), ["a2", "a4", "a6"]);
    assert_eq!(listed_ids(&busy_in_group), ["a6"]);
    assert!(listed_ids(&past).is_empty());
}

#[tokio::test]
async fn a_bad_agent_list_query_is_refused() {
    let t = TestShop::start("shop");
    t.online_agents(&["a1"]).await;

    for q in [
        "status=away",
        "limit=0",
        "limit=1001",
        "offset=-1",
        "colour=red",
        "group=a%20b",
    ] {
        let a = t
            .app
            .get(&t.path(&format!("/agents?{q}")), &t.s.admin)
            .await;
        assert_error(&a, 400, "invalid_request");
    }
    let unknown = t.app.get(&t.path("/agents?group=ghost"), &t.s.admin).await;
    assert_error(&unknown, 404, "not_found");
}
