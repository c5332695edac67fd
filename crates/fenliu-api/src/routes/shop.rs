//! Shop-wide resources: groups, routing settings, the queue, orders, the
//! ranking and the owner.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Query};
use actix_web::{get, post, put, HttpRequest};
use fenliu_core::query::{Groups, Members, QueuePage, RankingOf, ServiceOf, Settings};
use fenliu_core::time::{date_string, parse_date};
use fenliu_core::{AgentId, BuyerId, Command, GroupId, Metric, Reply, SortOrder, Tag, Viewer};
use fenliu_node::{Node, Route};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::access::Access;
use crate::error::{ApiError, ApiResult, Code};
use crate::input::{Body, PageLimit};
use crate::paths::{GroupPath, ShopPath};
use crate::schema;
use crate::settings::{Routing, ValidRouting};
use crate::views::{
    GroupList, GroupView, OrderView, OwnerView, QueueItem, QueueView, RankingView, StatsView,
};

/// Body of `PUT /groups/{group}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    /// The members; `[]` empties the group.
    #[schema(value_type = Vec<schema::AgentId>)]
    agents: Vec<AgentId>,
}

/// Every group, by id
#[utoipa::path(
    tag = "groups",
    params(ShopPath),
    security(("bearer" = ["admin", "supervisor", "service"])),
    responses((status = OK, body = GroupList)),
)]
#[get("/groups")]
pub async fn list_groups(node: Data<Node>, access: Access<ShopPath>) -> ApiResult<Json<GroupList>> {
    let groups = node
        .ask(&access.path.shop, Groups)
        .await?
        .into_iter()
        .map(|(group_id, agents)| GroupView { group_id, agents })
        .collect();
    Ok(Json(GroupList { groups }))
}

/// Replace a group's members
///
/// Creates the group; every agent must exist (404 otherwise, and nothing
/// changes). Conversations queued for the group are let in at once.
#[utoipa::path(
    tag = "groups",
    params(GroupPath),
    request_body = GroupBody,
    security(("bearer" = ["admin", "supervisor"])),
    responses((status = OK, body = GroupView)),
)]
#[put("/groups/{group}")]
pub async fn put_group(
    node: Data<Node>,
    access: Access<GroupPath, Body<GroupBody>>,
) -> ApiResult<Json<GroupView>> {
    let group: GroupId = access.path.group.clone();
    let cmd = Command::PutGroup(group.clone(), access.input.into_inner().agents);
    let agents = node
        .command(&access.path.shop, cmd, Members(group.clone()))
        .await?
        .answer;
    let view = GroupView {
        group_id: group,
        agents,
    };
    Ok(Json(view))
}

/// The routing settings
///
/// A shop never configured answers the defaults.
#[utoipa::path(
    tag = "routing",
    params(ShopPath),
    security(("bearer" = ["admin", "supervisor", "service"])),
    responses((status = OK, body = Routing)),
)]
#[get("/routing")]
pub async fn get_routing(node: Data<Node>, access: Access<ShopPath>) -> ApiResult<Json<Routing>> {
    let view = Routing::from(node.ask(&access.path.shop, Settings).await?);
    Ok(Json(view))
}

/// Replace the routing settings
///
/// A field left out takes its default, not its previous value; answers the
/// settings now in force. Queued conversations are routed again at once.
#[utoipa::path(
    tag = "routing",
    params(ShopPath),
    request_body = Routing,
    security(("bearer" = ["admin"])),
    responses((status = OK, body = Routing)),
)]
#[put("/routing")]
pub async fn put_routing(
    node: Data<Node>,
    access: Access<ShopPath, Body<ValidRouting>>,
) -> ApiResult<Json<Routing>> {
    let Body(ValidRouting(settings)) = access.input;
    let cmd = Command::SetRouting(Box::new(settings));
    let view = Routing::from(node.command(&access.path.shop, cmd, Settings).await?.answer);
    Ok(Json(view))
}

/// Query of `GET /queue`: a page of the queue, or all of it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Entries to pass over, from the next to be served.
    #[serde(default)]
    #[param(minimum = 0, maximum = 4_294_967_295_u64, format = Int64)]
    offset: u32,
    /// Entries to list; without it, every entry from `offset` on.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<PageLimit>,
}

/// The queue, or one page of it
#[utoipa::path(
    tag = "queue",
    params(ShopPath, QueueQuery),
    security(("bearer" = ["admin", "supervisor", "service"])),
    responses((status = OK, body = QueueView)),
)]
#[get("/queue")]
pub async fn queue(
    node: Data<Node>,
    access: Access<ShopPath, Query<QueueQuery>>,
) -> ApiResult<Json<QueueView>> {
    let QueueQuery { offset, limit } = access.input.into_inner();
    let (offset, limit) = (
        offset as usize,
        limit.map_or(usize::MAX, |l| l.get() as usize),
    );
    let page = node
        .ask(&access.path.shop, QueuePage { offset, limit })
        .await?;
    let view = QueueView {
        order: page.order,
        length: page.length as u64,
        items: page.items.iter().map(QueueItem::of).collect(),
    };
    Ok(Json(view))
}

/// Body of `POST /orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    #[schema(value_type = schema::Tag)]
    order_id: Tag,
    #[schema(value_type = schema::BuyerId)]
    buyer_id: BuyerId,
}

/// Record an order and credit the buyer's recent agent
///
/// The same `order_id` again answers the same record; the same `order_id`
/// for another buyer is 409.
#[utoipa::path(
    tag = "orders",
    params(ShopPath),
    request_body = OrderBody,
    security(("bearer" = ["service"])),
    responses((status = OK, body = OrderView)),
)]
#[post("/orders")]
pub async fn order(
    node: Data<Node>,
    access: Access<ShopPath, Body<OrderBody>>,
) -> ApiResult<Json<OrderView>> {
    let OrderBody { order_id, buyer_id } = access.input.into_inner();
    let decided = node
        .command(&access.path.shop, Command::Order(order_id, buyer_id), ())
        .await?;
    let view = match decided.reply {
        Reply::Order(o) => Some(OrderView {
            order_id: o.order_id,
            credited_agent: o.credited_agent,
        }),
        _ => None,
    };
    view.map(Json)
        .ok_or_else(|| ApiError::internal("an order answered no record"))
}

/// Query of `GET /stats`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The shop day, `YYYY-MM-DD` in the shop's timezone; default today.
    /// Only today and yesterday are kept (another day is 404).
    #[param(value_type = Option<String>, format = Date)]
    date: Option<String>,
}

/// The shop's service figures of a day (服务数据)
///
/// Inquiries, waits, service level, reply and satisfaction rates, offline
/// deliveries and fairness, for the inquiries that arrived that day.
#[utoipa::path(
    tag = "stats",
    params(ShopPath, StatsQuery),
    security(("bearer" = ["admin", "supervisor", "service"])),
    responses((status = OK, body = StatsView)),
)]
#[get("/stats")]
pub async fn stats(
    node: Data<Node>,
    access: Access<ShopPath, Query<StatsQuery>>,
) -> ApiResult<Json<StatsView>> {
    let day = match access.input.into_inner().date {
        Some(raw) => Some(parse_date(&raw).map_err(ApiError::from)?),
        None => None,
    };
    let figures = node.ask(&access.path.shop, ServiceOf(day)).await??;
    Ok(Json(StatsView::from(figures)))
}

/// Query of `GET /ranking`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RankingQuery {
    /// Default `receptions`.
    #[serde(default)]
    #[param(value_type = Option<schema::Metric>)]
    metric: Metric,
    /// Default `desc`.
    #[serde(default)]
    #[param(value_type = Option<schema::SortOrder>)]
    order: SortOrder,
    /// Only the members of this group (404 for an unknown group).
    #[param(value_type = Option<schema::GroupId>)]
    group: Option<GroupId>,
}

/// The agents' ranking for the shop's day (客服排名)
///
/// Only agents that received a conversation today are ranked. With
/// `leaderboard_visible: false` an agent sees only its own line.
#[utoipa::path(
    tag = "ranking",
    params(ShopPath, RankingQuery),
    security(("bearer" = ["admin", "supervisor", "service", "agent"])),
    responses((status = OK, body = RankingView)),
)]
#[get("/ranking")]
pub async fn ranking(
    node: Data<Node>,
    access: Access<ShopPath, Query<RankingQuery>>,
) -> ApiResult<Json<RankingView>> {
    let viewer = match access.agent_id()? {
        Some(a) => Viewer::Agent(a),
        None => Viewer::Everyone,
    };
    let q = access.input.into_inner();
    let sort = q.order;
    let query = RankingOf {
        metric: q.metric,
        order: sort,
        group: q.group,
        viewer,
    };
    let ranking = node.ask(&access.path.shop, query).await??;
    Ok(Json(RankingView {
        date: date_string(ranking.date),
        metric: ranking.metric,
        order: sort,
        average: ranking.average,
        agents: ranking.agents.into_iter().map(Into::into).collect(),
    }))
}

/// The node serving the shop now
///
/// Takes the shop when nobody serves it. On a single node the epoch is 1.
#[utoipa::path(
    tag = "cluster",
    params(ShopPath),
    security(("bearer" = ["admin", "supervisor", "service", "agent"])),
    responses((status = OK, body = OwnerView)),
)]
#[get("/owner")]
pub async fn owner(node: Data<Node>, access: Access<ShopPath>) -> ApiResult<Json<OwnerView>> {
    current_owner(&node, &access.path.shop).await.map(Json)
}

async fn current_owner(node: &Node, shop: &fenliu_core::ShopId) -> ApiResult<OwnerView> {
    let fence = match node.route(shop).await? {
        Route::Local(fence) | Route::Remote { fence, .. } => fence,
    };
    Ok(OwnerView {
        node_id: fence.node_id,
        epoch: fence.epoch,
    })
}

/// Body of `POST /move`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// A live node of the cluster.
    #[schema(min_length = 1)]
    node_id: String,
}

/// Move the shop to a named node (an extension)
///
/// The named node takes the shop at once; answers its owner. Requests in
/// flight meanwhile may get 503; an unknown node is 404.
#[utoipa::path(
    tag = "cluster",
    params(ShopPath),
    request_body = MoveBody,
    security(("bearer" = ["admin"])),
    responses((status = OK, body = OwnerView)),
)]
#[post("/move")]
pub async fn move_shop(
    node: Data<Node>,
    req: HttpRequest,
    access: Access<ShopPath, Body<MoveBody>>,
) -> ApiResult<Json<OwnerView>> {
    let target = access.input.into_inner().node_id;
    if target == node.node_id() {
        return current_owner(&node, &access.path.shop).await.map(Json);
    }
    let shop = &access.path.shop;
    let url = node.hand_over(shop, &target).await?;
    let token = crate::auth::authorization(&req);
    let path = format!("/v1/shops/{shop}/owner");
    let answer =
        crate::forward::on_behalf(reqwest::Method::GET, &url, &path, &token, node.node_id())
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| ApiError::unavailable(format!("node {target} unreachable: {e}")))?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if status != StatusCode::OK {
        // The new owner's own error, passed on as it said it.
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        return Err(match Code::of_status(status) {
            Some(code) => ApiError::new(code, message),
            None => ApiError::unavailable(format!("node {target} answered {status}: {message}")),
        });
    }
    let new_owner: OwnerView = answer
        .json()
        .await
        .map_err(|e| ApiError::unavailable(format!("node {target} answered badly: {e}")))?;
    Ok(Json(new_owner))
}
