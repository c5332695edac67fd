//! The routes of the API, one module per resource.

use actix_web::web;
use fenliu_core::{AgentId, ConversationId, GroupId, ShopId};

use crate::error::ApiError;

pub mod agents;
pub mod conversations;
pub mod events;
pub mod ops;
pub mod shop;

/// Registers every `/v1` route.
pub fn v1(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1/shops/{shop}")
            .route("/agents", web::get().to(agents::list))
            .route("/agents/{agent}", web::put().to(agents::upsert))
            .route("/agents/{agent}", web::get().to(agents::get))
            .route("/agents/{agent}", web::delete().to(agents::delete))
            .route("/agents/{agent}/status", web::put().to(agents::set_status))
            .route(
                "/agents/{agent}/max_load",
                web::put().to(agents::set_max_load),
            )
            .route("/groups", web::get().to(shop::list_groups))
            .route("/groups/{group}", web::put().to(shop::put_group))
            .route("/routing", web::get().to(shop::get_routing))
            .route("/routing", web::put().to(shop::put_routing))
            .route("/inquiries", web::post().to(conversations::inquire))
            .route(
                "/conversations",
                web::post().to(conversations::open_proactive),
            )
            .route("/conversations/{id}", web::get().to(conversations::get))
            .route(
                "/conversations/{id}/explain",
                web::get().to(conversations::explain),
            )
            .route(
                "/conversations/{id}/messages",
                web::post().to(conversations::message),
            )
            .route(
                "/conversations/{id}/transfer",
                web::post().to(conversations::transfer),
            )
            .route(
                "/conversations/{id}/end",
                web::post().to(conversations::end),
            )
            .route(
                "/conversations/{id}/cancel",
                web::post().to(conversations::cancel),
            )
            .route(
                "/conversations/{id}/rating_invite",
                web::post().to(conversations::rating_invite),
            )
            .route(
                "/conversations/{id}/rating",
                web::post().to(conversations::rate),
            )
            .route("/queue", web::get().to(shop::queue))
            .route("/orders", web::post().to(shop::order))
            .route("/ranking", web::get().to(shop::ranking))
            .route("/events", web::get().to(events::stream))
            .route("/owner", web::get().to(shop::owner))
            .route("/move", web::post().to(shop::move_shop)),
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
