//! Inquiries and conversations.

use actix_web::web::{Data, Json};
use actix_web::{get, post, HttpResponse};
use fenliu_core::inquiry::Priority;
use fenliu_core::query::{ConversationById, Decided, ExplanationOf, Guarded, Replied, Summary};
use fenliu_core::{
    AgentId, BuyerId, Command, EndReason, Entry, GroupId, Inquiry, Party, Reply, Tag,
};
use fenliu_node::Node;
use serde::Deserialize;
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::access::{Access, Standing};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::input::{present, Body, Stars};
use crate::paths::{ConversationPath, ShopPath};
use crate::schema;
use crate::views::{ConversationView, ExplanationView, InquiryView};

/// 201 with the conversation a command created, 200 with the one it found
/// or changed.
fn answer(decided: Decided<Option<Summary>>) -> ApiResult<HttpResponse> {
    let created = matches!(decided.reply, Reply::Conversation { created: true, .. });
    match decided.answer.map(ConversationView::from) {
        Some(v) if created => Ok(HttpResponse::Created().json(v)),
        Some(v) => Ok(HttpResponse::Ok().json(v)),
        None => Err(ApiError::not_found("conversation not found")),
    }
}

/// Body of `POST /inquiries`: what a buyer's inquiry (进线) carries.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Inquiry)]
pub struct InquiryBody {
    #[schema(value_type = schema::BuyerId)]
    buyer_id: BuyerId,
    #[schema(value_type = schema::Entry)]
    entry: Entry,
    /// The question the buyer picked.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = schema::Tag)]
    question: Option<Tag>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = schema::Tag)]
    order_state: Option<Tag>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = schema::Tag)]
    product_id: Option<Tag>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = schema::Tag)]
    intent: Option<Tag>,
    /// The buyer's priority (VIP, order value), 0 to 9; 0 when absent. A
    /// matching rule's priority raises it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = u8, minimum = 0, maximum = 9)]
    priority: Option<Priority>,
}

impl From<InquiryBody> for Inquiry {
    fn from(body: InquiryBody) -> Self {
        let InquiryBody {
            buyer_id,
            entry,
            question,
            order_state,
            product_id,
            intent,
            priority,
        } = body;
        Inquiry {
            buyer_id,
            entry,
            question,
            order_state,
            product_id,
            intent,
            priority: priority.unwrap_or_default(),
        }
    }
}

/// Route a buyer's inquiry
///
/// 201 when a conversation was created (active with its agent, or queued with
/// its position); 200 with `reason: "existing"` when the buyer already has a
/// queued or active conversation, unchanged; 409 when nobody can take it and
/// the queue is full (`queue.max_length`).
#[utoipa::path(
    tag = "conversations",
    params(ShopPath),
    request_body = InquiryBody,
    security(("bearer" = ["service"])),
    responses(
        (status = CREATED, description = "a conversation was created", body = InquiryView),
        (status = OK, description = "the buyer's open conversation", body = InquiryView),
    ),
)]
#[post("/inquiries")]
pub async fn inquire(
    node: Data<Node>,
    access: Access<ShopPath, Body<InquiryBody>>,
) -> ApiResult<HttpResponse> {
    let cmd = Command::Inquire(access.input.into_inner().into());
    let decided = node.command(&access.path.shop, cmd, Replied).await?;
    match (decided.reply, decided.answer) {
        (
            Reply::Conversation {
                created, reason, ..
            },
            Some(c),
        ) => {
            let view = InquiryView::new(c, reason);
            Ok(if created {
                HttpResponse::Created().json(view)
            } else {
                HttpResponse::Ok().json(view)
            })
        }
        _ => Err(ApiError::not_found("conversation not found")),
    }
}

/// Body of `POST /conversations` (proactive).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProactiveBody {
    /// A buyer with an order within `proactive_window_secs`.
    #[schema(value_type = schema::BuyerId)]
    buyer_id: BuyerId,
}

/// Open a conversation with a recent buyer (主动发起会话)
///
/// 409 for an offline agent or a buyer without a recent order; not limited
/// by the agent's max load.
#[utoipa::path(
    tag = "conversations",
    params(ShopPath),
    request_body = ProactiveBody,
    security(("bearer" = ["agent"])),
    responses(
        (status = CREATED, description = "the proactive conversation", body = ConversationView),
        (status = OK, description = "the buyer's open conversation", body = ConversationView),
    ),
)]
#[post("/conversations")]
pub async fn open_proactive(
    node: Data<Node>,
    access: Access<ShopPath, Body<ProactiveBody>>,
) -> ApiResult<HttpResponse> {
    let agent = access
        .agent_id()?
        .ok_or_else(|| ApiError::forbidden("agent token has an invalid subject"))?;
    let cmd = Command::OpenProactive(agent, access.input.into_inner().buyer_id);
    answer(node.command(&access.path.shop, cmd, Replied).await?)
}

/// One conversation
///
/// Ended and cancelled conversations stay readable until a day after their
/// reply window.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["service", "admin", "supervisor", "owner"])),
    responses((status = OK, body = ConversationView)),
)]
#[get("/conversations/{id}")]
pub async fn get_conversation(
    node: Data<Node>,
    access: Access<ConversationPath>,
) -> ApiResult<Json<ConversationView>> {
    let id = access.path.id;
    let (shop, guard) = (&access.path.shop, access.guard(id));
    // The owner check reads the shop as the answer does: both in one step.
    let seen = node.ask(shop, Guarded(guard, ConversationById(id))).await?;
    let view = seen?
        .map(ConversationView::from)
        .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))?;
    Ok(Json(view))
}

/// How the conversation was routed, agent by agent
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["service", "admin", "supervisor"])),
    responses((status = OK, body = ExplanationView)),
)]
#[get("/conversations/{id}/explain")]
pub async fn explain(
    node: Data<Node>,
    access: Access<ConversationPath>,
) -> ApiResult<Json<ExplanationView>> {
    let id = access.path.id;
    let view = node
        .ask(&access.path.shop, ExplanationOf(id))
        .await?
        .map(|e| ExplanationView::new(id, &e))
        .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))?;
    Ok(Json(view))
}

/// Body of `POST /messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// An agent may only post `agent`.
    #[schema(value_type = schema::Party)]
    from: Party,
}

/// A message was written
///
/// fenliu keeps the reply clock and the recent contact, not the text. A
/// buyer's message to an ended or cancelled conversation is a new inquiry:
/// 201 with the new conversation, 200 with the buyer's open one.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    request_body = MessageBody,
    security(("bearer" = ["service", "owner"])),
    responses(
        (status = OK, description = "the conversation", body = ConversationView),
        (status = CREATED, description = "a buyer wrote after the end: the new conversation",
            body = ConversationView),
    ),
)]
#[post("/conversations/{id}/messages")]
pub async fn message(
    node: Data<Node>,
    access: Access<ConversationPath, Body<MessageBody>>,
) -> ApiResult<HttpResponse> {
    let from = access.input.from;
    if access.caller().role() == Role::Agent && from != Party::Agent {
        return Err(ApiError::forbidden(
            "an agent can only post messages from the agent",
        ));
    }
    let id = access.path.id;
    let cmd = Command::Message(id, from);
    answer(
        node.guarded(&access.path.shop, access.guard(id), cmd, Replied)
            .await??,
    )
}

/// Body of `POST /transfer`: exactly one of the agent, or the group (an
/// extension) to pick one from.
#[derive(Debug, Deserialize)]
#[serde(try_from = "TransferFields")]
pub enum TransferBody {
    /// To this agent (online or busy; max load is not checked).
    ToAgent {
        /// The agent.
        to_agent: AgentId,
    },
    /// To an agent of this group, picked as routing would (within max loads).
    ToGroup {
        /// The group.
        to_group: GroupId,
    },
}

impl PartialSchema for TransferBody {
    fn schema() -> RefOr<Schema> {
        let one = |field: &str, of: &str, description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .description(Some(description))
                .property(field, Ref::from_schema_name(of))
                .required(field)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        OneOfBuilder::new()
            .description(Some("exactly one of `to_agent` and `to_group`"))
            .item(one(
                "to_agent",
                "AgentId",
                "to this agent (online or busy; its max load is not checked)",
            ))
            .item(one(
                "to_group",
                "GroupId",
                "to an agent of this group, picked as routing would (within max loads)",
            ))
            .into()
    }
}

impl ToSchema for TransferBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("AgentId".into(), schema::AgentId::schema()));
        schemas.push(("GroupId".into(), schema::GroupId::schema()));
    }
}

/// The fields of a transfer body, as read before checking that one is given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferFields {
    #[serde(default, deserialize_with = "present")]
    to_agent: Option<AgentId>,
    #[serde(default, deserialize_with = "present")]
    to_group: Option<GroupId>,
}

impl TryFrom<TransferFields> for TransferBody {
    type Error = &'static str;

    fn try_from(fields: TransferFields) -> Result<Self, Self::Error> {
        match fields {
            TransferFields {
                to_agent: Some(to_agent),
                to_group: None,
            } => Ok(Self::ToAgent { to_agent }),
            TransferFields {
                to_agent: None,
                to_group: Some(to_group),
            } => Ok(Self::ToGroup { to_group }),
            _ => Err("give exactly one of to_agent and to_group"),
        }
    }
}

/// Transfer to another online or busy agent, or to an agent of a group
///
/// A transfer to the agent that has the conversation is 409; a transfer
/// restarts the reply clock for the new agent.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    request_body = TransferBody,
    security(("bearer" = ["owner", "admin", "service"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/transfer")]
pub async fn transfer(
    node: Data<Node>,
    access: Access<ConversationPath, Body<TransferBody>>,
) -> ApiResult<HttpResponse> {
    let id = access.path.id;
    let cmd = match &*access.input {
        TransferBody::ToAgent { to_agent } => Command::Transfer(id, to_agent.clone()),
        TransferBody::ToGroup { to_group } => Command::TransferToGroup(id, to_group.clone()),
    };
    answer(
        node.guarded(&access.path.shop, access.guard(id), cmd, Replied)
            .await??,
    )
}

/// End the conversation
///
/// Ending an ended conversation answers it unchanged.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["owner", "service"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/end")]
pub async fn end(node: Data<Node>, access: Access<ConversationPath>) -> ApiResult<HttpResponse> {
    let id = access.path.id;
    let why = match access.standing() {
        Standing::Owner(_) => EndReason::Agent,
        Standing::Role | Standing::Itself => EndReason::Service,
    };
    answer(
        node.guarded(
            &access.path.shop,
            access.guard(id),
            Command::End(id, why),
            Replied,
        )
        .await??,
    )
}

/// Accept the conversation offered to you
///
/// With `assignment.mode: offer`, the agent a decision picked is offered
/// the conversation (`status: offered`) and holds a slot for it; accepting
/// makes it `active` and starts its reply clock. Accepting an accepted
/// conversation answers it unchanged; any other state is 409.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["owner", "service"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/accept")]
pub async fn accept(node: Data<Node>, access: Access<ConversationPath>) -> ApiResult<HttpResponse> {
    let id = access.path.id;
    answer(
        node.guarded(
            &access.path.shop,
            access.guard(id),
            Command::Accept(id),
            Replied,
        )
        .await??,
    )
}

/// Reject the conversation offered to you
///
/// The conversation is decided again at once, never again for an agent who
/// rejected it or let its offer lapse; with nobody left it waits in the
/// queue at the place it first had. 409 unless it is offered.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["owner", "service"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/reject")]
pub async fn reject(node: Data<Node>, access: Access<ConversationPath>) -> ApiResult<HttpResponse> {
    let id = access.path.id;
    answer(
        node.guarded(
            &access.path.shop,
            access.guard(id),
            Command::Reject(id),
            Replied,
        )
        .await??,
    )
}

/// A queued (or offered) conversation leaves the queue
///
/// Cancelling a cancelled conversation answers it unchanged.
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["service"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/cancel")]
pub async fn cancel(node: Data<Node>, access: Access<ConversationPath>) -> ApiResult<HttpResponse> {
    let cmd = Command::Cancel(access.path.id);
    answer(node.command(&access.path.shop, cmd, Replied).await?)
}

/// Invite the buyer to rate the conversation (once)
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    security(("bearer" = ["owner"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/rating_invite")]
pub async fn rating_invite(
    node: Data<Node>,
    access: Access<ConversationPath>,
) -> ApiResult<HttpResponse> {
    let id = access.path.id;
    let cmd = Command::InviteRating(id);
    answer(
        node.guarded(&access.path.shop, access.guard(id), cmd, Replied)
            .await??,
    )
}

/// Body of `POST /rating`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    #[schema(value_type = u8, minimum = 1, maximum = 5)]
    stars: Stars,
}

/// The buyer's stars (once)
#[utoipa::path(
    tag = "conversations",
    params(ConversationPath),
    request_body = RatingBody,
    security(("bearer" = ["service"])),
    responses((status = OK, body = ConversationView)),
)]
#[post("/conversations/{id}/rating")]
pub async fn rate(
    node: Data<Node>,
    access: Access<ConversationPath, Body<RatingBody>>,
) -> ApiResult<HttpResponse> {
    let stars = u8::try_from(access.input.stars.get()).expect("1 to 5");
    let cmd = Command::Rate(access.path.id, stars);
    answer(node.command(&access.path.shop, cmd, Replied).await?)
}
