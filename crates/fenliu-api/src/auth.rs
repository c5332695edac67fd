//! Authentication: HS256 JWTs with `sub`, `role`, `shop` and `exp`.
//!
//! Only HS256 is accepted (so `alg: none` and every other algorithm are
//! refused), the signature must verify with the node's secret, and `exp` is
//! required. A request's token is verified once: the outcome is kept in the
//! request's extensions, where forwarding and the handler both read it.
//!
//! A token's claims are a function of its bytes and the secret, so the claims
//! of a token that verified are kept (bounded, per secret) and a later request
//! with the very same token skips the signature and the JSON: only its expiry
//! is checked again, with the same leeway. The platform's services send the
//! same token with every request, which made verification ~6 % of a request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{http::header, HttpMessage};
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
    /// Every role.
    pub const ALL: [Role; 4] = [Self::Admin, Self::Supervisor, Self::Agent, Self::Service];

    /// The role as written in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Supervisor => "supervisor",
            Self::Agent => "agent",
            Self::Service => "service",
        }
    }

    /// The role written `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
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

/// Seconds past `exp` a token is still accepted (clock skew between the
/// issuer and the nodes).
const LEEWAY_SECS: u64 = 5;

/// At most this many verified tokens are remembered; the set starts afresh
/// when full (a flood of distinct tokens costs a verification each, as
/// without it, and never more memory than this).
const VERIFIED_TOKENS: usize = 4096;

/// The secret tokens are signed with. Cheap to clone.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
    verified: Arc<Mutex<HashMap<Box<str>, Arc<Claims>>>>,
}

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: Arc::new(EncodingKey::from_secret(secret)),
            decoding: Arc::new(DecodingKey::from_secret(secret)),
            verified: Arc::default(),
        }
    }

    /// Signs claims.
    pub fn issue(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).expect("hs256 signing")
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.verify_shared(token).map(|claims| (*claims).clone())
    }

    /// [`Self::verify`], answering the claims of a token seen before without
    /// verifying its signature again (its expiry is checked every time).
    fn verify_shared(&self, token: &str) -> Result<Arc<Claims>, ApiError> {
        #[cfg(test)]
        tests::VERIFIED.with(|n| n.set(n.get() + 1));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let seen = self.remembered().get(token).cloned();
        if let Some(claims) = seen.filter(|c| c.exp.saturating_add(LEEWAY_SECS) >= now) {
            return Ok(claims);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        #[cfg(test)]
        tests::DECODED.with(|n| n.set(n.get() + 1));
        let claims = decode::<Claims>(token, &self.decoding, &validation)
            .map(|d| Arc::new(d.claims))
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        let mut remembered = self.remembered();
        if remembered.len() >= VERIFIED_TOKENS {
            remembered.clear();
        }
        remembered.insert(token.into(), Arc::clone(&claims));
        Ok(claims)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<Claims>>> {
        // The map is consistent at every unlock, so a poisoned lock's data is sound.
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The authenticated caller of a `/v1` request.
#[derive(Clone, Debug)]
pub struct Caller {
    claims: Arc<Claims>,
}

/// The outcome of verifying a request's token, kept in its extensions.
#[derive(Clone)]
struct Verified(Result<Caller, Arc<str>>);

/// The request's `Authorization` header as it came (empty when absent),
/// to pass on to another node on the caller's behalf.
pub fn authorization(req: &actix_web::HttpRequest) -> String {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Caller {
    /// The caller of a request, whose token is verified on the first call
    /// and read from the request's extensions after that: forwarding
    /// ([`crate::forward`]) and the handler share one verification.
    pub fn of(keys: &JwtKeys, req: &impl HttpMessage) -> Result<Caller, ApiError> {
        let known = req.extensions().get::<Verified>().cloned();
        let Verified(outcome) = known.unwrap_or_else(|| {
            let outcome = Verified(
                Self::from_headers(keys, req.headers()).map_err(|e| Arc::from(e.to_string())),
            );
            req.extensions_mut().insert(outcome.clone());
            outcome
        });
        outcome.map_err(|message| ApiError::unauthorized(&*message))
    }

    /// The caller named by the `Authorization` header, checked against `keys`.
    pub fn from_headers(keys: &JwtKeys, headers: &header::HeaderMap) -> Result<Self, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or_else(|| {
                ApiError::unauthorized("missing Authorization: Bearer <token> header")
            })?;
        keys.verify_shared(token).map(|claims| Caller { claims })
    }

    /// The claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

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

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use actix_web::test::TestRequest;

    use super::*;

    thread_local! {
        /// Tokens verified on this thread.
        pub(crate) static VERIFIED: Cell<usize> = const { Cell::new(0) };
        /// Tokens whose signature was checked on this thread.
        pub(crate) static DECODED: Cell<usize> = const { Cell::new(0) };
    }

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn a_token_seen_before_is_not_decoded_again() {
        let keys = JwtKeys::new(b"secret");
        let t = token(&keys, Role::Service, "s1", "gateway");
        let before = DECODED.with(Cell::get);

        let first = keys.verify(&t).unwrap();
        let again = keys.verify(&t).unwrap();

        assert_eq!(DECODED.with(Cell::get) - before, 1);
        assert_eq!((first.sub, again.sub), ("gateway".into(), "gateway".into()));
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_has_expired() {
        let keys = JwtKeys::new(b"secret");
        let claims = Claims {
            sub: "gateway".into(),
            role: Role::Service,
            shop: "s1".into(),
            exp: now_secs() - 60,
        };
        let t = keys.issue(&claims);
        // As if it had verified while it was still valid.
        keys.remembered()
            .insert(t.as_str().into(), Arc::new(claims));

        let refused = keys.verify(&t).unwrap_err();

        assert_eq!(refused.code(), crate::error::Code::Unauthorized);
        assert!(refused.to_string().contains("Expired"), "{refused}");
    }

    #[test]
    fn a_token_remembered_under_one_secret_is_refused_under_another() {
        let ours = JwtKeys::new(b"secret");
        let theirs = JwtKeys::new(b"other");
        let t = token(&theirs, Role::Admin, "s1", "boss");
        theirs.verify(&t).unwrap();

        assert!(ours.verify(&t).is_err());
    }

    #[test]
    fn the_remembered_tokens_stay_bounded() {
        let keys = JwtKeys::new(b"secret");
        for i in 0..VERIFIED_TOKENS + 10 {
            keys.verify(&token(&keys, Role::Agent, "s1", &format!("a{i}")))
                .unwrap();
        }

        assert!(keys.remembered().len() <= VERIFIED_TOKENS);
    }

    pub(crate) fn token(keys: &JwtKeys, role: Role, shop: &str, sub: &str) -> String {
        keys.issue(&Claims {
            sub: sub.into(),
            role,
            shop: shop.into(),
            exp: u64::MAX / 2,
        })
    }

    #[test]
    fn a_request_token_is_verified_once_however_often_the_caller_is_asked_for() {
        let keys = JwtKeys::new(b"secret");
        let req = TestRequest::default()
            .insert_header((
                header::AUTHORIZATION,
                format!("Bearer {}", token(&keys, Role::Admin, "s1", "boss")),
            ))
            .to_http_request();
        let before = VERIFIED.with(Cell::get);

        let first = Caller::of(&keys, &req).unwrap();
        let again = Caller::of(&keys, &req).unwrap();

        assert_eq!(VERIFIED.with(Cell::get) - before, 1);
        assert_eq!(first.claims().sub, "boss");
        assert_eq!(again.role(), Role::Admin);
    }

    #[test]
    fn a_refused_token_is_refused_again_without_a_second_verification() {
        let keys = JwtKeys::new(b"secret");
        let req = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer nope"))
            .to_http_request();
        let before = VERIFIED.with(Cell::get);

        let first = Caller::of(&keys, &req).unwrap_err();
        let again = Caller::of(&keys, &req).unwrap_err();

        assert_eq!(VERIFIED.with(Cell::get) - before, 1);
        assert_eq!(first.to_string(), again.to_string());
        assert_eq!(again.code(), crate::error::Code::Unauthorized);
    }
}
