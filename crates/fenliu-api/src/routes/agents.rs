//! `/v1/shops/{shop}/agents`: agents, their status and max load.

use actix_web::{web, HttpResponse};
use fenliu_core::{AgentStatus, Command, GroupId, MaxLoad, Weight};
use fenliu_node::{Node, NodeError};
use serde::Deserialize;
use serde_json::json;

use super::{agent_id, shop_id};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::views::{AgentView, ConversationView};

/// Body of `PUT /agents/{agent}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    display_name: Option<String>,
    weight: Option<Weight>,
    groups: Option<Vec<GroupId>>,
}

/// Body of `PUT /agents/{agent}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: AgentStatus,
}

/// Body of `PUT /agents/{agent}/max_load`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxLoadBody {
    max_load: MaxLoad,
}

fn agent_view(
    agent: fenliu_core::AgentId,
) -> impl Fn(&fenliu_core::Shop, &fenliu_core::Reply, fenliu_core::Millis) -> Option<AgentView> {
    move |shop, _, now| shop.agent(&agent).map(|a| AgentView::new(shop, a, now))
}

fn found(view: Option<AgentView>) -> ApiResult<HttpResponse> {
    view.map(|v| HttpResponse::Ok().json(v))
        .ok_or_else(|| ApiError::not_found("agent not found"))
}

/// Most agents one page of `GET /agents` lists.
pub const MAX_AGENT_PAGE: usize = 1_000;

/// Query of `GET /agents` (an extension): only agents with this status, of
/// this group, a page at a time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<AgentStatus>,
    group: Option<String>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// `GET /agents`: every agent by id, or those the query names.
pub async fn list(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, &[Role::Admin, Role::Supervisor, Role::Service])?;
    let ListQuery {
        status,
        group,
        offset,
        limit,
    } = query.into_inner();
    let group = group.as_deref().map(super::group_id).transpose()?;
    if limit.is_some_and(|l| !(1..=MAX_AGENT_PAGE).contains(&l)) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_AGENT_PAGE}"
        )));
    }
    let agents = node
        .read(&shop, move |shop, now| -> ApiResult<Vec<AgentView>> {
            let members = match &group {
                Some(g) => Some(
                    shop.group(g)
                        .ok_or_else(|| ApiError::not_found(format!("group {g} not found")))?,
                ),
                None => None,
            };
            Ok(shop
                .agents()
                .filter(|a| status.is_none_or(|s| a.status == s))
                .filter(|a| members.is_none_or(|m| m.contains(&a.id)))
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .map(|a| AgentView::new(shop, a, now))
                .collect())
        })
        .await??;
    Ok(HttpResponse::Ok().json(json!({ "agents": agents })))
}

/// `GET /agents/{agent}`.
pub async fn get(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, agent) = (shop_id(&path.0)?, agent_id(&path.1)?);
    caller.require_self_or(
        &shop,
        &agent,
        &[Role::Admin, Role::Supervisor, Role::Service],
    )?;
    // Served by the agent's actor, so polling agents never wait behind routing.
    let snapshot = node.agent(&shop, &agent).await?;
    let now = node.now();
    found(snapshot.map(|s| AgentView::of(&s.agent, s.timezone.day_of(now))))
}

/// `GET /agents/{agent}/conversations` (an extension): the agent's active
/// conversations, oldest first, for a workbench that reconnects.
pub async fn conversations(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, agent) = (shop_id(&path.0)?, agent_id(&path.1)?);
    caller.require_self_or(
        &shop,
        &agent,
        &[Role::Admin, Role::Supervisor, Role::Service],
    )?;
    let body = node
        .read(&shop, move |shop, _| -> ApiResult<serde_json::Value> {
            if shop.agent(&agent).is_none() {
                return Err(ApiError::not_found(format!("agent {agent} not found")));
            }
            let views: Vec<ConversationView> = shop
                .active_conversations_of(&agent)
                .into_iter()
                .filter_map(|id| shop.conversation(id))
                .map(|c| ConversationView::new(shop, c))
                .collect();
            Ok(json!({ "agent_id": agent, "conversations": views }))
        })
        .await??;
    Ok(HttpResponse::Ok().json(body))
}

/// `PUT /agents/{agent}`: creates or updates.
pub async fn upsert(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<AgentBody>,
) -> ApiResult<HttpResponse> {
    let (shop, agent) = (shop_id(&path.0)?, agent_id(&path.1)?);
    caller.require(&shop, &[Role::Admin])?;
    let body = body.into_inner();
    let cmd = Command::UpsertAgent {
        agent: agent.clone(),
        display_name: body.display_name,
        weight: body.weight,
        groups: body.groups,
    };
    found(node.command(&shop, cmd, agent_view(agent)).await?)
}

/// `DELETE /agents/{agent}`: its active conversations are re-routed.
pub async fn delete(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, agent) = (shop_id(&path.0)?, agent_id(&path.1)?);
    caller.require(&shop, &[Role::Admin])?;
    node.command(&shop, Command::DeleteAgent(agent), |_, _, _| ())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /agents/{agent}/status`: the agent itself or a service.
pub async fn set_status(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<StatusBody>,
) -> ApiResult<HttpResponse> {
    let (shop, agent) = (shop_id(&path.0)?, agent_id(&path.1)?);
    caller.require_self_or(&shop, &agent, &[Role::Service])?;
    let cmd = Command::SetStatus(agent.clone(), body.status);
    found(node.command(&shop, cmd, agent_view(agent)).await?)
}

/// `PUT /agents/{agent}/max_load`: the agent itself only.
pub async fn set_max_load(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<MaxLoadBody>,
) -> ApiResult<HttpResponse> {
    let (shop, agent) = (shop_id(&path.0)?, agent_id(&path.1)?);
    caller.in_shop(&shop)?;
    if !caller.is_agent(&agent) {
        return Err(ApiError::forbidden(
            "only the agent itself sets its max load",
        ));
    }
    let cmd = Command::SetMaxLoad(agent.clone(), body.max_load);
    let view = node.command(&shop, cmd, agent_view(agent)).await;
    found(view.map_err(|e: NodeError| ApiError::from(e))?)
}
