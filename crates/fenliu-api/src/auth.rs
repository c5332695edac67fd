//! Authentication: HS256 JWTs with `sub`, `role`, `shop` and `exp`.
//!
//! Only HS256 is accepted (so `alg: none` and every other algorithm are
//! refused), the signature must verify with the node's secret, and `exp` is
//! required.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use fenliu_core::{AgentId, ShopId};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 主账号: everything in its shop except other agents' status and max load.
    Admin,
    /// 分流管理权限: routing groups and all reads of its shop.
    Supervisor,
    /// An agent: `sub` is its agent id.
    Agent,
    /// Internal systems; `shop` may be `*`.
    Service,
}

impl Role {
    /// The role as written in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Supervisor => "supervisor",
            Self::Agent => "agent",
            Self::Service => "service",
        }
    }
}

/// The claims of a fenliu token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the agent id for agents, a free name otherwise.
    pub sub: String,
    /// Role.
    pub role: Role,
    /// The shop, or `*` for services of every shop.
    pub shop: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// The secret tokens are signed with. Cheap to clone.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
}

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: Arc::new(EncodingKey::from_secret(secret)),
            decoding: Arc::new(DecodingKey::from_secret(secret)),
        }
    }

    /// Signs claims.
    pub fn issue(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).expect("hs256 signing")
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))
    }
}

/// The authenticated caller of a `/v1` request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The claims.
    pub claims: Claims,
}

impl Caller {
    /// The caller's role.
    pub fn role(&self) -> Role {
        self.claims.role
    }

    /// Checks that the token is for `shop` (403 otherwise); `*` only for services.
    pub fn in_shop(&self, shop: &ShopId) -> Result<(), ApiError> {
        let c = &self.claims;
        if c.shop == shop.as_str() || (c.shop == "*" && c.role == Role::Service) {
            Ok(())
        } else {
            Err(ApiError::forbidden("token is for another shop"))
        }
    }

    /// Checks the shop and that the role is one of `roles`.
    pub fn require(&self, shop: &ShopId, roles: &[Role]) -> Result<(), ApiError> {
        self.in_shop(shop)?;
        if roles.contains(&self.claims.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "role {} may not do this",
                self.claims.role.as_str()
            )))
        }
    }

    /// Checks the shop and that the caller is `agent` itself or has one of
    /// `roles`.
    pub fn require_self_or(
        &self,
        shop: &ShopId,
        agent: &AgentId,
        roles: &[Role],
    ) -> Result<(), ApiError> {
        if self.is_agent(agent) {
            self.in_shop(shop)
        } else {
            self.require(shop, roles)
        }
    }

    /// Whether the caller is this agent.
    pub fn is_agent(&self, agent: &AgentId) -> bool {
        self.claims.role == Role::Agent && self.claims.sub == agent.as_str()
    }

    /// The caller's agent id, when it is an agent.
    pub fn agent_id(&self) -> Option<AgentId> {
        (self.claims.role == Role::Agent)
            .then(|| AgentId::parse(&self.claims.sub).ok())
            .flatten()
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is
/// case-insensitive (RFC 7235), so `bearer` works too.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl Caller {
    /// The caller named by the `Authorization` header, checked against `keys`.
    pub fn from_headers(keys: &JwtKeys, headers: &header::HeaderMap) -> Result<Self, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or_else(|| {
                ApiError::unauthorized("missing Authorization: Bearer <token> header")
            })?;
        keys.verify(token).map(|claims| Caller { claims })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let keys = req
            .app_data::<web::Data<JwtKeys>>()
            .expect("jwt keys configured");
        ready(Caller::from_headers(keys, req.headers()))
    }
}
