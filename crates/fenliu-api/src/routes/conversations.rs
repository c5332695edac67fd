//! Inquiries and conversations.

use actix_web::{web, HttpResponse};
use fenliu_core::{
    AgentId, BuyerId, Command, ConversationId, EndReason, GroupId, Inquiry, Party, Reply, Shop,
};
use fenliu_node::{Node, NodeError};
use serde::Deserialize;

use super::{conversation_id, shop_id};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::views::{explanation, ConversationView, InquiryView};

/// The owning agent check, run atomically with the command.
fn owned_by(id: ConversationId, agent: AgentId) -> impl Fn(&Shop) -> Result<(), NodeError> {
    move |shop| match shop.conversation(id) {
        Some(c) if c.agent.as_ref() != Some(&agent) => Err(NodeError::Forbidden(
            "the conversation is not assigned to this agent".into(),
        )),
        // Absent: the command itself answers 404.
        _ => Ok(()),
    }
}

/// A check run atomically with a command.
type Guard = Box<dyn Fn(&Shop) -> Result<(), NodeError> + Send + Sync>;

/// Who may act on a conversation: `roles`, or its owning agent when `owner` is true.
fn conversation_guard(
    caller: &Caller,
    shop: &fenliu_core::ShopId,
    id: ConversationId,
    roles: &[Role],
    owner: bool,
) -> ApiResult<Guard> {
    caller.in_shop(shop)?;
    if roles.contains(&caller.role()) {
        return Ok(Box::new(|_| Ok(())));
    }
    match caller.agent_id() {
        Some(agent) if owner => Ok(Box::new(owned_by(id, agent))),
        _ => Err(ApiError::forbidden(
            "this role may not act on conversations this way",
        )),
    }
}

fn conversation_view(
    shop: &Shop,
    reply: &Reply,
    _now: fenliu_core::Millis,
) -> Option<(ConversationView, bool)> {
    match reply {
        Reply::Conversation { id, created, .. } => shop
            .conversation(*id)
            .map(|c| (ConversationView::new(shop, c), *created)),
        _ => None,
    }
}

fn answer(view: Option<(ConversationView, bool)>) -> ApiResult<HttpResponse> {
    match view {
        Some((v, true)) => Ok(HttpResponse::Created().json(v)),
        Some((v, false)) => Ok(HttpResponse::Ok().json(v)),
        None => Err(ApiError::not_found("conversation not found")),
    }
}

/// `POST /inquiries`: routes a buyer's inquiry.
pub async fn inquire(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<Inquiry>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, &[Role::Service])?;
    let view = node
        .command(
            &shop,
            Command::Inquire(body.into_inner()),
            |shop, reply, _| match reply {
                Reply::Conversation {
                    id,
                    created,
                    reason,
                } => InquiryView::new(shop, *id, *reason).map(|v| (v, *created)),
                _ => None,
            },
        )
        .await?;
    match view {
        Some((v, true)) => Ok(HttpResponse::Created().json(v)),
        Some((v, false)) => Ok(HttpResponse::Ok().json(v)),
        None => Err(ApiError::not_found("conversation not found")),
    }
}

/// Body of `POST /conversations` (proactive).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProactiveBody {
    buyer_id: BuyerId,
}

/// `POST /conversations`: an agent opens a conversation with a recent buyer.
pub async fn open_proactive(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<ProactiveBody>,
) -> ApiResult<HttpResponse> {
    let shop = shop_id(&path)?;
    caller.require(&shop, &[Role::Agent])?;
    let agent = caller
        .agent_id()
        .ok_or_else(|| ApiError::forbidden("agent token has an invalid subject"))?;
    let cmd = Command::OpenProactive(agent, body.into_inner().buyer_id);
    answer(node.command(&shop, cmd, conversation_view).await?)
}

/// `GET /conversations/{id}`.
pub async fn get(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    let guard = conversation_guard(
        &caller,
        &shop,
        id,
        &[Role::Service, Role::Admin, Role::Supervisor],
        true,
    )?;
    let view = node
        .read(&shop, move |shop, _| -> ApiResult<ConversationView> {
            guard(shop)?;
            shop.conversation(id)
                .map(|c| ConversationView::new(shop, c))
                .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))
        })
        .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// `GET /conversations/{id}/explain`.
pub async fn explain(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    caller.require(&shop, &[Role::Service, Role::Admin, Role::Supervisor])?;
    let view = node
        .read(&shop, move |shop, _| {
            shop.conversation(id)
                .map(|c| explanation(id, &c.explanation))
                .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))
        })
        .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// Body of `POST /messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    from: Party,
}

/// `POST /conversations/{id}/messages`.
pub async fn message(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<MessageBody>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    if caller.role() == Role::Agent && body.from != Party::Agent {
        return Err(ApiError::forbidden(
            "an agent can only post messages from the agent",
        ));
    }
    let guard = conversation_guard(&caller, &shop, id, &[Role::Service], true)?;
    let cmd = Command::Message(id, body.from);
    answer(node.guarded(&shop, guard, cmd, conversation_view).await?)
}

/// Body of `POST /transfer`: the agent, or the group (an extension) to pick
/// one from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    to_agent: Option<AgentId>,
    to_group: Option<GroupId>,
}

/// `POST /conversations/{id}/transfer`.
pub async fn transfer(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<TransferBody>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    let guard = conversation_guard(&caller, &shop, id, &[Role::Service, Role::Admin], true)?;
    let cmd = match body.into_inner() {
        TransferBody {
            to_agent: Some(agent),
            to_group: None,
        } => Command::Transfer(id, agent),
        TransferBody {
            to_agent: None,
            to_group: Some(group),
        } => Command::TransferToGroup(id, group),
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of to_agent and to_group",
            ))
        }
    };
    answer(node.guarded(&shop, guard, cmd, conversation_view).await?)
}

/// `POST /conversations/{id}/end`.
pub async fn end(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    let guard = conversation_guard(&caller, &shop, id, &[Role::Service], true)?;
    let why = if caller.role() == Role::Agent {
        EndReason::Agent
    } else {
        EndReason::Service
    };
    answer(
        node.guarded(&shop, guard, Command::End(id, why), conversation_view)
            .await?,
    )
}

/// `POST /conversations/{id}/cancel`: a queued conversation leaves the queue.
pub async fn cancel(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    caller.require(&shop, &[Role::Service])?;
    answer(
        node.command(&shop, Command::Cancel(id), conversation_view)
            .await?,
    )
}

/// `POST /conversations/{id}/rating_invite`: the owning agent, once.
pub async fn rating_invite(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    let guard = conversation_guard(&caller, &shop, id, &[], true)?;
    answer(
        node.guarded(&shop, guard, Command::InviteRating(id), conversation_view)
            .await?,
    )
}

/// Body of `POST /rating`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    stars: u8,
}

/// `POST /conversations/{id}/rating`: the buyer's stars, once.
pub async fn rate(
    node: web::Data<Node>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<RatingBody>,
) -> ApiResult<HttpResponse> {
    let (shop, id) = (shop_id(&path.0)?, conversation_id(&path.1)?);
    caller.require(&shop, &[Role::Service])?;
    if !(1..=5).contains(&body.stars) {
        return Err(ApiError::invalid("stars must be between 1 and 5"));
    }
    answer(
        node.command(&shop, Command::Rate(id, body.stars), conversation_view)
            .await?,
    )
}
