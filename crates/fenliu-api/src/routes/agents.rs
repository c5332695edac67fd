//! `/v1/shops/{shop}/agents`: agents, their status and max load.

use actix_web::web::{Data, Json, Query};
use actix_web::{delete, get, post, put, HttpResponse};
use fenliu_core::query::{AgentById, AgentPage, AgentToday, ConversationsOf};
use fenliu_core::{AgentId, AgentStatus, Command, GroupId, MaxLoad, ShopId, Weight};
use fenliu_node::Node;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::input::{present, Body, PageLimit};
use crate::paths::{AgentPath, ShopPath};
use crate::schema;
use crate::views::{AgentConversations, AgentList, AgentView, Heartbeat};

/// Body of `PUT /agents/{agent}`: a field left out keeps its value (the
/// default for a new agent).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = schema::DisplayName)]
    display_name: Option<String>,
    /// 分流权重.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = u32, minimum = 1, maximum = 100)]
    weight: Option<Weight>,
    /// Replaces the agent's memberships; groups are created as needed.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<schema::GroupId>)]
    groups: Option<Vec<GroupId>>,
}

/// Body of `PUT /agents/{agent}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    #[schema(value_type = schema::AgentStatus)]
    status: AgentStatus,
}

/// Body of `PUT /agents/{agent}/max_load`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxLoadBody {
    /// 最大接待人数.
    #[schema(value_type = u32, minimum = 1, maximum = 50)]
    max_load: MaxLoad,
}

/// Query of `GET /agents` (an extension): only agents with this status, of
/// this group, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only agents with this status.
    #[param(value_type = Option<schema::AgentStatus>)]
    status: Option<AgentStatus>,
    /// Only members of this group (404 for an unknown group).
    #[param(value_type = Option<schema::GroupId>)]
    group: Option<GroupId>,
    /// Agents to pass over, by id.
    #[serde(default)]
    #[param(minimum = 0, maximum = 4_294_967_295_u64, format = Int64)]
    offset: u32,
    /// Agents to list; without it, every matching agent from `offset` on.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<PageLimit>,
}

/// Applies `cmd` and answers `agent` as the command left it.
async fn decide_and_show(
    node: &Node,
    shop: &ShopId,
    cmd: Command,
    agent: AgentId,
) -> ApiResult<Json<AgentView>> {
    found(node.command(shop, cmd, AgentById(agent)).await?.answer)
}

fn found(agent: Option<AgentToday>) -> ApiResult<Json<AgentView>> {
    agent
        .map(|a| Json(AgentView::of(&a)))
        .ok_or_else(|| ApiError::not_found("agent not found"))
}

/// Every agent, by id
///
/// An extension for large shops narrows the list by `status` and `group`
/// and pages it with `offset` and `limit`; a page shorter than `limit` is
/// the last.
#[utoipa::path(
    tag = "agents",
    params(ShopPath, ListQuery),
    security(("bearer" = ["admin", "supervisor", "service"])),
    responses((status = OK, body = AgentList)),
)]
#[get("/agents")]
pub async fn list_agents(
    node: Data<Node>,
    access: Access<ShopPath, Query<ListQuery>>,
) -> ApiResult<Json<AgentList>> {
    let ListQuery {
        status,
        group,
        offset,
        limit,
    } = access.input.into_inner();
    let (offset, limit) = (
        offset as usize,
        limit.map_or(usize::MAX, |l| l.get() as usize),
    );
    let query = AgentPage {
        status,
        group,
        offset,
        limit,
    };
    let list = node.ask(&access.path.shop, query).await??;
    let agents = list.agents.iter().map(AgentView::of).collect();
    Ok(Json(AgentList { agents }))
}

/// One agent
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    security(("bearer" = ["admin", "supervisor", "service", "self"])),
    responses((status = OK, body = AgentView)),
)]
#[get("/agents/{agent}")]
pub async fn get_agent(node: Data<Node>, access: Access<AgentPath>) -> ApiResult<Json<AgentView>> {
    let AgentPath { shop, agent } = &access.path;
    // Served by the agent's actor, so polling agents never wait behind routing.
    found(node.agent(shop, agent).await?)
}

/// The agent's active conversations, oldest first
///
/// An extension, for a workbench that reconnects; kept per agent, so it
/// costs the agent's load, not the shop's size.
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    security(("bearer" = ["admin", "supervisor", "service", "self"])),
    responses((status = OK, body = AgentConversations)),
)]
#[get("/agents/{agent}/conversations")]
pub async fn agent_conversations(
    node: Data<Node>,
    access: Access<AgentPath>,
) -> ApiResult<Json<AgentConversations>> {
    let agent = access.path.agent.clone();
    let conversations = node
        .ask(&access.path.shop, ConversationsOf(agent.clone()))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("agent {agent} not found")))?;
    let body = AgentConversations {
        agent_id: agent,
        conversations: conversations.into_iter().map(Into::into).collect(),
    };
    Ok(Json(body))
}

/// Create or update an agent
///
/// Answers 200 with the agent whether it was created or updated.
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    request_body = AgentBody,
    security(("bearer" = ["admin"])),
    responses((status = OK, body = AgentView)),
)]
#[put("/agents/{agent}")]
pub async fn put_agent(
    node: Data<Node>,
    access: Access<AgentPath, Body<AgentBody>>,
) -> ApiResult<Json<AgentView>> {
    let AgentBody {
        display_name,
        weight,
        groups,
    } = access.input.into_inner();
    let agent = access.path.agent.clone();
    let cmd = Command::UpsertAgent {
        agent: agent.clone(),
        display_name,
        weight,
        groups,
    };
    decide_and_show(&node, &access.path.shop, cmd, agent).await
}

/// Delete an agent
///
/// The agent leaves its groups; its active conversations go back to the head
/// of the queue, oldest first, and are routed again at once.
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    security(("bearer" = ["admin"])),
    responses((status = NO_CONTENT, description = "deleted")),
)]
#[delete("/agents/{agent}")]
pub async fn delete_agent(node: Data<Node>, access: Access<AgentPath>) -> ApiResult<HttpResponse> {
    let cmd = Command::DeleteAgent(access.path.agent.clone());
    node.command(&access.path.shop, cmd, ()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set an agent's status
///
/// Going `online` lets queued conversations in at once; setting the status
/// the agent already has changes nothing.
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    request_body = StatusBody,
    security(("bearer" = ["self", "service"])),
    responses((status = OK, body = AgentView)),
)]
#[put("/agents/{agent}/status")]
pub async fn set_status(
    node: Data<Node>,
    access: Access<AgentPath, Body<StatusBody>>,
) -> ApiResult<Json<AgentView>> {
    let agent = access.path.agent.clone();
    let cmd = Command::SetStatus(agent.clone(), access.input.status);
    decide_and_show(&node, &access.path.shop, cmd, agent).await
}

/// Set an agent's max load
///
/// Raising it lets queued conversations in at once; lowering it below the
/// current load takes nothing away.
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    request_body = MaxLoadBody,
    security(("bearer" = ["self"])),
    responses((status = OK, body = AgentView)),
)]
#[put("/agents/{agent}/max_load")]
pub async fn set_max_load(
    node: Data<Node>,
    access: Access<AgentPath, Body<MaxLoadBody>>,
) -> ApiResult<Json<AgentView>> {
    let agent = access.path.agent.clone();
    let cmd = Command::SetMaxLoad(agent.clone(), access.input.max_load);
    decide_and_show(&node, &access.path.shop, cmd, agent).await
}

/// A sign of life from the agent (an extension)
///
/// With the shop's `presence.timeout_secs` set, an agent who is `online` or
/// `busy` and shows no sign of life for that long is set `offline` (event
/// `agent.status` with `cause: "presence"`); its active conversations stay
/// its own. A heartbeat, or an open `GET /events` stream with the agent's
/// own token, is a sign of life. Answers the timeout, so the workbench can
/// pace its heartbeats (a third of it is a safe interval).
#[utoipa::path(
    tag = "agents",
    params(AgentPath),
    security(("bearer" = ["self", "service"])),
    responses((status = OK, body = Heartbeat)),
)]
#[post("/agents/{agent}/heartbeat")]
pub async fn heartbeat(node: Data<Node>, access: Access<AgentPath>) -> ApiResult<Json<Heartbeat>> {
    let AgentPath { shop, agent } = &access.path;
    let timeout_secs = node.heartbeat(shop, agent).await?;
    Ok(Json(Heartbeat { timeout_secs }))
}
