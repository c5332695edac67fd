//! The routes of the API, one module per resource.

use actix_web::web;
use fenliu_core::{AgentId, ConversationId, GroupId, ShopId};

use crate::error::ApiError;

pub mod agents;
pub mod conversations;
pub mod events;
pub mod ops;
pub mod shop;

/// One path with its methods; any other method answers 405 with the error body.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        actix_web::ResponseError::error_response(&ApiError::method_not_allowed())
    }))
}

/// Registers every `/v1` route.
pub fn v1(cfg: &mut web::ServiceConfig) {
    use conversations as c;
    cfg.service(
        web::scope("/v1/shops/{shop}")
            .service(resource("/agents").get(agents::list))
            .service(
                resource("/agents/{agent}")
                    .put(agents::upsert)
                    .get(agents::get)
                    .delete(agents::delete),
            )
            .service(resource("/agents/{agent}/conversations").get(agents::conversations))
            .service(resource("/agents/{agent}/status").put(agents::set_status))
            .service(resource("/agents/{agent}/max_load").put(agents::set_max_load))
            .service(resource("/groups").get(shop::list_groups))
            .service(resource("/groups/{group}").put(shop::put_group))
            .service(
                resource("/routing")
                    .get(shop::get_routing)
                    .put(shop::put_routing),
            )
            .service(resource("/inquiries").post(c::inquire))
            .service(resource("/conversations").post(c::open_proactive))
            .service(resource("/conversations/{id}").get(c::get))
            .service(resource("/conversations/{id}/explain").get(c::explain))
            .service(resource("/conversations/{id}/messages").post(c::message))
            .service(resource("/conversations/{id}/transfer").post(c::transfer))
            .service(resource("/conversations/{id}/end").post(c::end))
            .service(resource("/conversations/{id}/cancel").post(c::cancel))
            .service(resource("/conversations/{id}/rating_invite").post(c::rating_invite))
            .service(resource("/conversations/{id}/rating").post(c::rate))
            .service(resource("/queue").get(shop::queue))
            .service(resource("/orders").post(shop::order))
            .service(resource("/ranking").get(shop::ranking))
            .service(resource("/events").get(events::stream))
            .service(resource("/owner").get(shop::owner))
            .service(resource("/move").post(shop::move_shop)),
    );
}

pub(crate) fn shop_id(raw: &str) -> Result<ShopId, ApiError> {
    ShopId::parse(raw).map_err(|e| ApiError::invalid(e.message()))
}

pub(crate) fn agent_id(raw: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(raw).map_err(|e| ApiError::invalid(e.message()))
}

pub(crate) fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    GroupId::parse(raw).map_err(|e| ApiError::invalid(e.message()))
}

pub(crate) fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw).map_err(|e| ApiError::invalid(e.message()))
}
