//! Shop-wide resources: groups, routing settings, the queue, orders, the
//! ranking and the owner.

use actix_web::{web, HttpResponse};
use fenliu_core::settings::QueueOrder;
use fenliu_core::time::date_string;
use fenliu_core::{
    AgentId, BuyerId, Command, Metric, Reply, RoutingSettings, SortOrder, Tag, Viewer,
};
use fenliu_node::{Node, Route};
use serde::Deserialize;
use serde_json::json;

use super::{group_id, shop_id};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};

const READERS: &[Role] = &[Role::Admin, Role::Supervisor, Role::Service];

/// Body of `PUT /groups/{group}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    agents: Vec<AgentId>,
}

/// `GET /groups`.
pub async fn list_groups(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, READERS)?;
    let groups = node
        .read(&shop, |shop, _| {
            shop.groups()
                .iter()
                .map(|(g, members)| json!({"group_id": g, "agents": members}))
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "groups": groups })))
}

/// `PUT /groups/{group}`: replaces the members.
pub async fn put_group(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<GroupBody>,
) -> ApiResult<HttpResponse> {
    let (shop, group) = (shop_id(&path.0)?, group_id(&path.1)?);
    caller.require(&shop, &[Role::Admin, Role::Supervisor])?;
    let g = group.clone();
    let view = node
        .command(
            &shop,
            Command::PutGroup(group, body.into_inner().agents),
            move |shop, _, _| json!({"group_id": g, "agents": shop.group(&g)}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Routing settings as the API shows them: as the spec writes them, with
/// the extensions only when they are set (a queue limit), so that a shop
/// using none of them reads exactly the documented settings.
fn settings_view(settings: &RoutingSettings) -> serde_json::Value {
    let mut view = serde_json::to_value(settings).expect("settings serialize");
    if settings.queue.max_length.is_none() {
        if let Some(queue) = view.get_mut("queue").and_then(|q| q.as_object_mut()) {
            queue.remove("max_length");
        }
    }
    view
}

/// `GET /routing`.
pub async fn get_routing(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, READERS)?;
    let view = node
        .read(&shop, |shop, _| settings_view(shop.settings()))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PUT /routing`: replaces the settings; absent fields take their defaults.
pub async fn put_routing(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<RoutingSettings>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, &[Role::Admin])?;
    let settings = body.into_inner();
    settings.validate()?;
    let view = node
        .command(
            &shop,
            Command::SetRouting(Box::new(settings)),
            |shop, _, _| settings_view(shop.settings()),
        )
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Most entries one page of `GET /queue` lists.
pub const MAX_QUEUE_PAGE: usize = 1_000;

/// Query of `GET /queue`: a page of the queue, or all of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Entries to pass over, from the next to be served.
    #[serde(default)]
    offset: usize,
    /// Entries to list (1..=[`MAX_QUEUE_PAGE`]); absent: every entry.
    limit: Option<usize>,
}

/// `GET /queue`.
pub async fn queue(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, READERS)?;
    let QueueQuery { offset, limit } = query.into_inner();
    if limit.is_some_and(|l| !(1..=MAX_QUEUE_PAGE).contains(&l)) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_QUEUE_PAGE}"
        )));
    }
    let body = node
        .read(&shop, move |shop, now| {
            let items: Vec<_> = shop
                .queue_page(offset, limit.unwrap_or(usize::MAX))
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({
                        "conversation_id": c.id,
                        "buyer_id": c.inquiry.buyer_id,
                        "position": offset + i + 1,
                        "waited_secs": (now - c.created_at).max(0) / 1000,
                    })
                })
                .collect();
            let order = match shop.settings().queue.order {
                QueueOrder::Fifo => "fifo",
                QueueOrder::Lifo => "lifo",
            };
            json!({"order": order, "length": shop.queue_len(), "items": items})
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Body of `POST /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    order_id: Tag,
    buyer_id: BuyerId,
}

/// `POST /orders`: credits the buyer's recent agent; idempotent by order id.
pub async fn order(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<OrderBody>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, &[Role::Service])?;
    let body = body.into_inner();
    let view = node
        .command(
            &shop,
            Command::Order(body.order_id, body.buyer_id),
            |_, reply, _| match reply {
                Reply::Order(o) => {
                    json!({"order_id": o.order_id, "credited_agent": o.credited_agent})
                }
                _ => json!({}),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Query of `GET /ranking`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    #[serde(default)]
    metric: Metric,
    #[serde(default)]
    order: SortOrder,
    group: Option<String>,
}

/// `GET /ranking`.
pub async fn ranking(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<RankingQuery>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(
        &shop,
        &[Role::Admin, Role::Supervisor, Role::Service, Role::Agent],
    )?;
    let q = query.into_inner();
    let group = q.group.as_deref().map(group_id).transpose()?;
    let viewer = match caller.agent_id() {
        Some(a) => Viewer::Agent(a),
        None if caller.role() == Role::Agent => {
            return Err(ApiError::forbidden("agent token has an invalid subject"))
        }
        None => Viewer::Everyone,
    };
    let ranking = node
        .read(&shop, move |shop, now| {
            shop.ranking(q.metric, q.order, group.as_ref(), &viewer, now)
        })
        .await??;
    Ok(HttpResponse::Ok().json(json!({
        "date": date_string(ranking.date),
        "metric": ranking.metric,
        "order": q.order,
        "average": ranking.average,
        "agents": ranking.agents,
    })))
}

/// `GET /owner`: the node serving the shop now (taking the shop when
/// nobody serves it).
pub async fn owner(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.in_shop(&shop)?;
    let fence = match node.route(&shop).await? {
        Route::Local(fence) | Route::Remote { fence, .. } => fence,
    };
    Ok(HttpResponse::Ok().json(json!({
        "node_id": fence.node_id,
        "epoch": fence.epoch,
    })))
}

/// Body of `POST /move`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    node_id: String,
}

/// `POST /move` (admin): hands the shop to the named node, which takes it at
/// once; answers the new owner. Requests in flight meanwhile may get 503.
pub async fn move_shop(
    node: web::Data<Node>,
    caller: Caller,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
    body: web::Json<MoveBody>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, &[Role::Admin])?;
    let target = body.into_inner().node_id;
    if target == node.node_id() {
        return owner(node, caller, path).await;
    }
    let url = node.hand_over(&shop, &target).await?;
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let answer = crate::forward::client()
        .get(format!(
            "{}/v1/shops/{shop}/owner",
            url.trim_end_matches('/')
        ))
        .header("authorization", token)
        .header(crate::forward::FORWARDED, node.node_id())
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| ApiError::unavailable(format!("node {target} unreachable: {e}")))?;
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer
        .json()
        .await
        .map_err(|e| ApiError::unavailable(format!("node {target} answered badly: {e}")))?;
    Ok(HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK),
    )
    .json(body))
}
