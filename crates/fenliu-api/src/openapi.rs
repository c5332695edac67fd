//! The OpenAPI 3.0 description of API v1, served at `/v1/openapi.json`.

use serde_json::{json, Map, Value};

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn op(summary: &str, roles: &str, body: Option<&str>, ok: (&str, Option<&str>)) -> Value {
    let mut o = json!({
        "summary": summary,
        "description": format!("Who may call: {roles}."),
        "security": [{"bearer": []}],
        "responses": {
            ok.0: match ok.1 {
                Some(s) => json!({"description": "success", "content": {"application/json": {"schema": schema_ref(s)}}}),
                None => json!({"description": "success"}),
            },
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
            "413": {"$ref": "#/components/responses/Error"},
            "503": {"$ref": "#/components/responses/Error"},
        }
    });
    if let Some(b) = body {
        o["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(b)}}});
    }
    o
}

fn params(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect(),
    )
}

fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).into(), v.clone());
    }
    json!({"type": "object", "properties": p, "required": required})
}

fn s() -> Value {
    json!({"type": "string"})
}

fn int() -> Value {
    json!({"type": "integer"})
}

fn en(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// The document.
pub fn document() -> Value {
    let shop = "/v1/shops/{shop}";
    let conv = |rest: &str| format!("{shop}/conversations/{{id}}{rest}");
    let entry = en(&[
        "product_detail",
        "order_detail",
        "direct_message",
        "live",
        "other",
    ]);
    let status = en(&["online", "busy", "offline"]);
    let conv_status = en(&["queued", "active", "ended", "cancelled"]);
    let mut paths = Map::new();
    let mut add = |path: String, method: &str, p: &[&str], o: Value| {
        let entry = paths
            .entry(path)
            .or_insert_with(|| json!({"parameters": params(p)}));
        entry[method] = o;
    };
    let a = &["shop", "agent"];
    let c = &["shop", "id"];
    let mut list = op(
        "List agents, or those with a status, of a group, a page at a time",
        "admin, supervisor, service",
        None,
        ("200", Some("AgentList")),
    );
    list["parameters"] = json!([
        {"name": "status", "in": "query", "schema": en(&["online", "busy", "offline"])},
        {"name": "group", "in": "query", "schema": s()},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ]);
    add(format!("{shop}/agents"), "get", &["shop"], list);
    add(
        format!("{shop}/agents/{{agent}}"),
        "put",
        a,
        op(
            "Create or update an agent",
            "admin",
            Some("AgentBody"),
            ("200", Some("Agent")),
        ),
    );
    add(
        format!("{shop}/agents/{{agent}}"),
        "get",
        a,
        op(
            "One agent",
            "admin, supervisor, service, the agent itself",
            None,
            ("200", Some("Agent")),
        ),
    );
    add(
        format!("{shop}/agents/{{agent}}"),
        "delete",
        a,
        op(
            "Delete an agent; its active conversations are re-routed",
            "admin",
            None,
            ("204", None),
        ),
    );
    add(
        format!("{shop}/agents/{{agent}}/conversations"),
        "get",
        a,
        op(
            "The agent's active conversations, oldest first (extension)",
            "admin, supervisor, service, the agent itself",
            None,
            ("200", Some("AgentConversations")),
        ),
    );
    add(
        format!("{shop}/agents/{{agent}}/status"),
        "put",
        a,
        op(
            "Set status",
            "the agent itself, service",
            Some("StatusBody"),
            ("200", Some("Agent")),
        ),
    );
    add(
        format!("{shop}/agents/{{agent}}/max_load"),
        "put",
        a,
        op(
            "Set max load (1..=50)",
            "the agent itself",
            Some("MaxLoadBody"),
            ("200", Some("Agent")),
        ),
    );
    add(
        format!("{shop}/groups"),
        "get",
        &["shop"],
        op(
            "List groups",
            "admin, supervisor, service",
            None,
            ("200", Some("GroupList")),
        ),
    );
    add(
        format!("{shop}/groups/{{group}}"),
        "put",
        &["shop", "group"],
        op(
            "Replace a group's members",
            "admin, supervisor",
            Some("GroupBody"),
            ("200", Some("Group")),
        ),
    );
    add(
        format!("{shop}/routing"),
        "get",
        &["shop"],
        op(
            "Routing settings",
            "admin, supervisor, service",
            None,
            ("200", Some("Routing")),
        ),
    );
    add(
        format!("{shop}/routing"),
        "put",
        &["shop"],
        op(
            "Replace routing settings",
            "admin",
            Some("Routing"),
            ("200", Some("Routing")),
        ),
    );
    add(
        format!("{shop}/inquiries"),
        "post",
        &["shop"],
        op(
            "Route an inquiry (201 created, 200 existing)",
            "service",
            Some("Inquiry"),
            ("201", Some("InquiryAnswer")),
        ),
    );
    add(
        format!("{shop}/conversations"),
        "post",
        &["shop"],
        op(
            "Open a proactive conversation",
            "agent",
            Some("ProactiveBody"),
            ("201", Some("Conversation")),
        ),
    );
    add(
        conv(""),
        "get",
        c,
        op(
            "One conversation",
            "service, admin, supervisor, owning agent",
            None,
            ("200", Some("Conversation")),
        ),
    );
    add(
        conv("/explain"),
        "get",
        c,
        op(
            "How the conversation was routed",
            "service, admin, supervisor",
            None,
            ("200", Some("Explanation")),
        ),
    );
    add(
        conv("/messages"),
        "post",
        c,
        op(
            "A message (buyer after the end: 201 with a new conversation)",
            "service, owning agent (from agent)",
            Some("MessageBody"),
            ("200", Some("Conversation")),
        ),
    );
    add(
        conv("/transfer"),
        "post",
        c,
        op(
            "Transfer to another online or busy agent, or to an agent of a group",
            "owning agent, admin, service",
            Some("TransferBody"),
            ("200", Some("Conversation")),
        ),
    );
    add(
        conv("/end"),
        "post",
        c,
        op(
            "End",
            "owning agent, service",
            None,
            ("200", Some("Conversation")),
        ),
    );
    add(
        conv("/cancel"),
        "post",
        c,
        op(
            "Leave the queue",
            "service",
            None,
            ("200", Some("Conversation")),
        ),
    );
    add(
        conv("/rating_invite"),
        "post",
        c,
        op(
            "Invite a rating (once)",
            "owning agent",
            None,
            ("200", Some("Conversation")),
        ),
    );
    add(
        conv("/rating"),
        "post",
        c,
        op(
            "Rate 1..=5 stars (once)",
            "service",
            Some("RatingBody"),
            ("200", Some("Conversation")),
        ),
    );
    let mut queue = op(
        "The queue, or one page of it",
        "admin, supervisor, service",
        None,
        ("200", Some("Queue")),
    );
    queue["parameters"] = json!([
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ]);
    add(format!("{shop}/queue"), "get", &["shop"], queue);
    add(
        format!("{shop}/orders"),
        "post",
        &["shop"],
        op(
            "Record an order and credit an agent",
            "service",
            Some("OrderBody"),
            ("200", Some("OrderAnswer")),
        ),
    );
    let mut ranking = op(
        "Agent ranking for the shop's day",
        "admin, supervisor, service, agent",
        None,
        ("200", Some("Ranking")),
    );
    ranking["parameters"] = json!([
        {"name": "metric", "in": "query", "schema": en(&["receptions", "sessions", "reply_rate_3m", "satisfaction_rate"])},
        {"name": "order", "in": "query", "schema": en(&["asc", "desc"])},
        {"name": "group", "in": "query", "schema": s()},
    ]);
    add(format!("{shop}/ranking"), "get", &["shop"], ranking);
    let mut events = op(
        "Server-Sent Events of the shop",
        "service, admin, supervisor, agent (own events)",
        None,
        ("200", None),
    );
    events["responses"]["200"] = json!({"description": "text/event-stream", "content": {"text/event-stream": {"schema": s()}}});
    events["description"] = json!(format!(
        "{} A client naming its last event (`Last-Event-ID`, or `last_event_id` when it cannot set headers; the header wins) first gets every stored event after it that it may see, then the live ones; an id older than what the shop still keeps gets the comment `: missed events after <id>` and a `stream.gap` event (`{{\"after\": <id>}}`, no `id:`) first. A malformed id is a 400.",
        events["description"].as_str().unwrap_or_default()
    ));
    let event_id = json!({"type": "string", "pattern": "^[0-9]+(-[0-9]+)?$", "example": "42"});
    events["parameters"] = json!([
        {"name": "Last-Event-ID", "in": "header", "description": "the `id:` of the last event received; resume after it", "schema": event_id},
        {"name": "last_event_id", "in": "query", "description": "the same, for clients that cannot set headers", "schema": event_id},
    ]);
    add(format!("{shop}/events"), "get", &["shop"], events);
    add(
        format!("{shop}/owner"),
        "get",
        &["shop"],
        op(
            "The node serving the shop",
            "any token of the shop",
            None,
            ("200", Some("Owner")),
        ),
    );
    add(
        format!("{shop}/move"),
        "post",
        &["shop"],
        op(
            "Move the shop to a named node (extension)",
            "admin",
            Some("MoveBody"),
            ("200", Some("Owner")),
        ),
    );
    for (path, summary) in [
        ("/healthz", "200 while the process runs"),
        (
            "/readyz",
            "200 when the store answers and the node is not draining",
        ),
        ("/metrics", "Prometheus text format"),
    ] {
        paths.insert(path.into(), json!({"get": {"summary": summary, "security": [], "responses": {"200": {"description": "ok"}, "503": {"description": "not ready"}}}}));
    }

    let agent = obj(
        &[
            ("agent_id", s()),
            ("display_name", json!({"type": "string", "nullable": true})),
            ("status", status.clone()),
            ("load", int()),
            ("max_load", int()),
            ("saturation", json!({"type": "number"})),
            ("weight", int()),
            ("groups", json!({"type": "array", "items": s()})),
            ("assigned_today", int()),
            ("unreplied", int()),
        ],
        &[
            "agent_id",
            "status",
            "load",
            "max_load",
            "saturation",
            "weight",
            "groups",
            "assigned_today",
            "unreplied",
        ],
    );
    let conversation = obj(
        &[
            ("conversation_id", s()),
            ("buyer_id", s()),
            ("status", conv_status.clone()),
            ("agent_id", s()),
            ("position", int()),
            ("entry", entry.clone()),
            (
                "created_at",
                json!({"type": "string", "format": "date-time"}),
            ),
            (
                "assigned_at",
                json!({"type": "string", "format": "date-time"}),
            ),
            ("ended_at", json!({"type": "string", "format": "date-time"})),
            ("end_reason", en(&["agent", "service", "auto_end"])),
            ("unreplied", json!({"type": "boolean"})),
        ],
        &[
            "conversation_id",
            "buyer_id",
            "status",
            "entry",
            "created_at",
            "unreplied",
        ],
    );
    let tag = json!({"type": "string", "minLength": 1, "maxLength": 200});
    let schemas = json!({
        "Error": obj(&[("error", obj(&[("code", en(&["invalid_request", "unauthorized", "forbidden", "not_found", "conflict", "payload_too_large", "unavailable", "internal"])), ("message", s())], &["code", "message"]))], &["error"]),
        "Agent": agent,
        "AgentList": obj(&[("agents", json!({"type": "array", "items": schema_ref("Agent")}))], &["agents"]),
        "AgentConversations": obj(&[("agent_id", s()), ("conversations", json!({"type": "array", "items": schema_ref("Conversation")}))], &["agent_id", "conversations"]),
        "AgentBody": obj(&[("display_name", s()), ("weight", json!({"type": "integer", "minimum": 1, "maximum": 100})), ("groups", json!({"type": "array", "items": s()}))], &[]),
        "StatusBody": obj(&[("status", status)], &["status"]),
        "MaxLoadBody": obj(&[("max_load", json!({"type": "integer", "minimum": 1, "maximum": 50}))], &["max_load"]),
        "Group": obj(&[("group_id", s()), ("agents", json!({"type": "array", "items": s()}))], &["group_id", "agents"]),
        "GroupList": obj(&[("groups", json!({"type": "array", "items": schema_ref("Group")}))], &["groups"]),
        "GroupBody": obj(&[("agents", json!({"type": "array", "items": s()}))], &["agents"]),
        "Routing": {"type": "object", "description": "Routing settings; every field optional, absent means the default (see docs/routing.md)."},
        "Inquiry": obj(&[("buyer_id", json!({"type": "string", "minLength": 1, "maxLength": 128})), ("entry", entry), ("question", tag.clone()), ("order_state", tag.clone()), ("product_id", tag.clone()), ("intent", tag.clone())], &["buyer_id", "entry"]),
        "InquiryAnswer": obj(&[("conversation_id", s()), ("status", conv_status), ("agent_id", s()), ("position", int()), ("reason", en(&["existing", "recent_contact", "rule", "default", "overflow", "offline", "no_queue", "queued"])), ("offline_delivery", json!({"type": "boolean"}))], &["conversation_id", "status", "reason", "offline_delivery"]),
        "Conversation": conversation,
        "Explanation": {"type": "object", "description": "decided_at, reason, strategy, recent_contact, matched_rule, overflowed, target_size, agents (agent_id, status, load, max_load, assigned_today, effective_weight, verdict), unlisted, picked"},
        "ProactiveBody": obj(&[("buyer_id", s())], &["buyer_id"]),
        "MessageBody": obj(&[("from", en(&["buyer", "agent"]))], &["from"]),
        "TransferBody": obj(&[("to_agent", s()), ("to_group", s())], &[]),
        "RatingBody": obj(&[("stars", json!({"type": "integer", "minimum": 1, "maximum": 5}))], &["stars"]),
        "Queue": obj(&[("order", en(&["fifo", "lifo"])), ("length", int()), ("items", json!({"type": "array", "items": obj(&[("conversation_id", s()), ("buyer_id", s()), ("position", int()), ("waited_secs", int())], &[])}))], &["order", "length", "items"]),
        "OrderBody": obj(&[("order_id", tag), ("buyer_id", s())], &["order_id", "buyer_id"]),
        "OrderAnswer": obj(&[("order_id", s()), ("credited_agent", json!({"type": "string", "nullable": true}))], &["order_id", "credited_agent"]),
        "Ranking": obj(&[("date", s()), ("metric", s()), ("average", json!({"type": "number", "nullable": true})), ("agents", json!({"type": "array", "items": {"type": "object"}}))], &["date", "metric", "agents"]),
        "MoveBody": obj(&[("node_id", s())], &["node_id"]),
        "Owner": obj(&[("node_id", s()), ("epoch", int())], &["node_id", "epoch"]),
    });
    json!({
        "openapi": "3.0.3",
        "info": {"title": "fenliu (分流) API", "version": "1", "description": "Routes customer-service inquiries of online shops to agents. See docs/api.md."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (HS256; claims sub, role, shop, exp)"}},
            "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": schema_ref("Error")}}}},
            "schemas": schemas,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_api_table_is_described() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let ops: usize = paths
            .values()
            .map(|p| {
                ["get", "put", "post", "delete"]
                    .iter()
                    .filter(|m| p.get(**m).is_some())
                    .count()
            })
            .sum();
        // 25 rows of the spec's table, `move`, an agent's conversations, and
        // healthz, readyz, metrics.
        assert_eq!(ops, 30);
        assert!(paths.contains_key("/v1/shops/{shop}/agents/{agent}/conversations"));
        for (path, item) in paths {
            for m in ["get", "put", "post", "delete"] {
                if let Some(o) = item.get(m) {
                    assert!(o["responses"].is_object(), "{m} {path}");
                }
            }
        }
    }
}
