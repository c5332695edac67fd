//! The routes of the API, one module per resource. Registering a route also
//! adds it to the document (utoipa-actix-web), so the document lists
//! exactly the routes the server serves.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod agents;
pub mod conversations;
pub mod events;
pub mod export;
pub mod ops;
pub mod shop;

/// The prefix of every route of a shop.
pub const SHOP_SCOPE: &str = "/v1/shops/{shop}";

/// Registers every route.
///
/// Within a shop, a request is matched against the routes in the order they
/// are registered here (a route with a parameter is a regular expression
/// tried in turn), so the ones the IM gateway sends all day come first: a
/// buyer's inquiry, a message and an end. No two routes match the same
/// method and path, so the order changes nothing else.
pub fn configure(cfg: &mut ServiceConfig) {
    use conversations as c;
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::openapi)
        .service(
            scope::scope(SHOP_SCOPE)
                .service(c::inquire)
                .service(c::message)
                .service(c::end)
                .service(agents::list_agents)
                .service(agents::put_agent)
                .service(agents::get_agent)
                .service(agents::delete_agent)
                .service(agents::agent_conversations)
                .service(agents::set_status)
                .service(agents::set_max_load)
                .service(agents::heartbeat)
                .service(shop::list_groups)
                .service(shop::put_group)
                .service(shop::get_routing)
                .service(shop::put_routing)
                .service(c::open_proactive)
                .service(c::get_conversation)
                .service(c::explain)
                .service(c::transfer)
                .service(c::accept)
                .service(c::reject)
                .service(c::cancel)
                .service(c::rating_invite)
                .service(c::rate)
                .service(shop::queue)
                .service(shop::order)
                .service(shop::ranking)
                .service(shop::stats)
                .service(export::export)
                .service(events::events)
                .service(shop::owner)
                .service(shop::move_shop),
        );
}
