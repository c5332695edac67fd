//! Typed paths: each route's path parameters, parsed once by the extractor
//! into the core's validated ids (a bad id is a 400 before any handler runs).

use fenliu_core::{AgentId, ConversationId, GroupId, ShopId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::schema;

/// What every path under `/v1/shops/{shop}` names: the shop, and maybe an
/// agent (for the "the agent itself" grant).
pub trait ShopScoped {
    /// The shop.
    fn shop(&self) -> &ShopId;

    /// The agent the path names, if it names one.
    fn agent(&self) -> Option<&AgentId> {
        None
    }
}

/// `/v1/shops/{shop}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ShopPath {
    /// The shop.
    #[param(value_type = schema::ShopId)]
    pub shop: ShopId,
}

/// `/v1/shops/{shop}/agents/{agent}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    /// The shop.
    #[param(value_type = schema::ShopId)]
    pub shop: ShopId,
    /// The agent.
    #[param(value_type = schema::AgentId)]
    pub agent: AgentId,
}

/// `/v1/shops/{shop}/groups/{group}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupPath {
    /// The shop.
    #[param(value_type = schema::ShopId)]
    pub shop: ShopId,
    /// The group.
    #[param(value_type = schema::GroupId)]
    pub group: GroupId,
}

/// `/v1/shops/{shop}/conversations/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConversationPath {
    /// The shop.
    #[param(value_type = schema::ShopId)]
    pub shop: ShopId,
    /// The conversation.
    #[param(value_type = schema::ConversationId)]
    pub id: ConversationId,
}

impl ShopScoped for ShopPath {
    fn shop(&self) -> &ShopId {
        &self.shop
    }
}

impl ShopScoped for AgentPath {
    fn shop(&self) -> &ShopId {
        &self.shop
    }

    fn agent(&self) -> Option<&AgentId> {
        Some(&self.agent)
    }
}

impl ShopScoped for GroupPath {
    fn shop(&self) -> &ShopId {
        &self.shop
    }
}

impl ShopScoped for ConversationPath {
    fn shop(&self) -> &ShopId {
        &self.shop
    }
}
