//! Who may call what: each route's grant is declared once, as the role names
//! of its security requirement in `#[utoipa::path(security(...))]`, and the
//! [`Access`] extractor enforces the grant it reads from the same document.
//! So the document cannot say one thing while the server does another.
//!
//! Role names (OpenAPI 3.1 lets a bearer requirement list the roles an
//! operation needs): `admin`, `supervisor`, `service`, `agent` (any agent of
//! the shop), `self` (the agent the path names) and `owner` (the agent the
//! conversation is assigned to, checked atomically with the command).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use fenliu_core::query::Guard;
use fenliu_core::{AgentId, ConversationId, ShopId};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{Caller, JwtKeys, Role};
use crate::error::{ApiError, ApiResult};
use crate::openapi::Document;
use crate::paths::ShopScoped;

/// The name of the document's bearer security scheme.
pub const BEARER: &str = "bearer";

/// Who may call one operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    roles: Vec<Role>,
    itself: bool,
    owner: bool,
}

impl Grant {
    /// The grant written as these role names; `None` for an unknown name.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Grant, String> {
        let mut grant = Grant::default();
        for name in names {
            match name {
                "self" => grant.itself = true,
                "owner" => grant.owner = true,
                other => grant
                    .roles
                    .push(Role::parse(other).ok_or_else(|| format!("unknown role {other}"))?),
            }
        }
        Ok(grant)
    }

    /// Whether `caller` may call the operation on `path`, and as what.
    pub fn admit(&self, caller: &Caller, path: &impl ShopScoped) -> ApiResult<Standing> {
        caller.in_shop(path.shop())?;
        if self.roles.contains(&caller.role()) {
            return Ok(Standing::Role);
        }
        if caller.role() == Role::Agent {
            if self.itself && path.agent().is_some_and(|a| caller.is_agent(a)) {
                return Ok(Standing::Itself);
            }
            if self.owner {
                return caller
                    .agent_id()
                    .map(Standing::Owner)
                    .ok_or_else(|| ApiError::forbidden("agent token has an invalid subject"));
            }
            if self.itself && self.roles.is_empty() {
                return Err(ApiError::forbidden("only the agent itself may do this"));
            }
        }
        Err(ApiError::forbidden(format!(
            "role {} may not do this",
            caller.role().as_str()
        )))
    }
}

/// Why a caller was let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Its role is granted.
    Role,
    /// It is the agent the path names.
    Itself,
    /// It is an agent, let in if the conversation is assigned to it.
    Owner(AgentId),
}

/// The grant of every operation of the document, by path and method.
#[derive(Debug, Default)]
pub struct Grants(HashMap<String, Vec<(Method, Grant)>>);

impl Grants {
    /// The grants the document declares: the `bearer` requirement of each
    /// operation that has one.
    ///
    /// # Panics
    ///
    /// On a role name that is not one of the above, or a method that is not
    /// one: the document is built from the code, so this is a bug.
    pub fn from_document(doc: &Value) -> Grants {
        let mut grants: HashMap<String, Vec<(Method, Grant)>> = HashMap::new();
        let paths = doc["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let Some(requirements) = op.get("security").and_then(Value::as_array) else {
                    continue;
                };
                let names = requirements
                    .iter()
                    .filter_map(|r| r.get(BEARER))
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(Value::as_str);
                let grant = Grant::parse(names)
                    .unwrap_or_else(|e| panic!("{method} {path} in the document: {e}"));
                let method = Method::from_bytes(method.to_uppercase().as_bytes())
                    .unwrap_or_else(|_| panic!("{method} {path}: not a method"));
                grants
                    .entry(path.clone())
                    .or_default()
                    .push((method, grant));
            }
        }
        Grants(grants)
    }

    /// The grant of an operation.
    pub fn get(&self, method: &Method, path: &str) -> Option<&Grant> {
        self.0
            .get(path)?
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, grant)| grant)
    }

    /// Whether `caller` may call the operation `req` was routed to.
    fn admit(req: &HttpRequest, caller: &Caller, path: &impl ShopScoped) -> ApiResult<Standing> {
        let pattern = req.match_pattern().unwrap_or_default();
        let grant = req
            .app_data::<web::Data<Document>>()
            .and_then(|d| d.grants().get(req.method(), &pattern))
            .ok_or_else(|| {
                ApiError::internal(format!("{} {pattern} has no grant", req.method()))
            })?;
        grant.admit(caller, path)
    }
}

/// The request of a caller let in by the route's grant: its typed path `P`
/// and its input `I` (a `Json` body, a `Query`, or `()`).
///
/// Checks run in the documented order: the token (401), the input (400 or
/// 413), the path (400), then the grant and the shop (403).
pub struct Access<P, I = ()> {
    /// The path.
    pub path: P,
    /// The body or query.
    pub input: I,
    caller: Caller,
    standing: Standing,
}

impl<P: ShopScoped, I> Access<P, I> {
    /// The shop.
    pub fn shop(&self) -> &ShopId {
        self.path.shop()
    }

    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Why the caller was let in.
    pub fn standing(&self) -> &Standing {
        &self.standing
    }

    /// The caller's agent id; 403 for an agent token whose subject is not one.
    pub fn agent_id(&self) -> ApiResult<Option<AgentId>> {
        match (self.caller.role(), self.caller.agent_id()) {
            (Role::Agent, None) => Err(ApiError::forbidden("agent token has an invalid subject")),
            (_, agent) => Ok(agent),
        }
    }

    /// The check to run atomically with a command on conversation `id`:
    /// none for a granted role, "assigned to this agent" for its owner.
    pub fn guard(&self, id: ConversationId) -> Guard {
        match &self.standing {
            Standing::Owner(agent) => Guard::Assigned {
                conversation: id,
                agent: agent.clone(),
            },
            Standing::Role | Standing::Itself => Guard::Open,
        }
    }
}

impl<P, I> FromRequest for Access<P, I>
where
    P: DeserializeOwned + ShopScoped + 'static,
    I: FromRequest + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let keys = req.app_data::<web::Data<JwtKeys>>().map(|k| Arc::clone(k));
        let input = I::from_request(&req, payload);
        Box::pin(async move {
            let keys = keys.ok_or_else(|| ApiError::internal("jwt keys are not configured"))?;
            let caller = Caller::of(&keys, &req)?;
            let input = input.await.map_err(Into::into)?;
            let path = web::Path::<P>::extract(&req).await?.into_inner();
            let standing = Grants::admit(&req, &caller, &path)?;
            Ok(Access {
                path,
                input,
                caller,
                standing,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{tests::token, JwtKeys};
    use crate::paths::AgentPath;
    use actix_web::http::header;
    use actix_web::test::TestRequest;

    fn caller(role: Role, shop: &str, sub: &str) -> Caller {
        let keys = JwtKeys::new(b"k");
        let req = TestRequest::default()
            .insert_header((
                header::AUTHORIZATION,
                format!("Bearer {}", token(&keys, role, shop, sub)),
            ))
            .to_http_request();
        Caller::of(&keys, &req).unwrap()
    }

    fn agent_path(agent: &str) -> AgentPath {
        AgentPath {
            shop: ShopId::parse("s1").unwrap(),
            agent: AgentId::parse(agent).unwrap(),
        }
    }

    #[test]
    fn a_grant_lets_in_its_roles_the_agent_itself_and_the_owner() {
        let grant = Grant::parse(["service", "self"]).unwrap();
        let path = agent_path("a1");

        assert_eq!(
            grant
                .admit(&caller(Role::Service, "*", "gw"), &path)
                .unwrap(),
            Standing::Role
        );
        assert_eq!(
            grant
                .admit(&caller(Role::Agent, "s1", "a1"), &path)
                .unwrap(),
            Standing::Itself
        );
        assert!(grant
            .admit(&caller(Role::Agent, "s1", "a2"), &path)
            .is_err());
        assert!(grant.admit(&caller(Role::Admin, "s1", "x"), &path).is_err());
        assert!(grant
            .admit(&caller(Role::Agent, "s2", "a1"), &path)
            .is_err());
        let owner = Grant::parse(["owner"]).unwrap();
        assert_eq!(
            owner
                .admit(&caller(Role::Agent, "s1", "a2"), &path)
                .unwrap(),
            Standing::Owner(AgentId::parse("a2").unwrap())
        );
    }

    #[test]
    fn an_unknown_role_name_is_refused() {
        assert!(Grant::parse(["admin", "root"]).is_err());
    }

    #[test]
    fn grants_are_read_from_the_operations_security_requirements() {
        let doc = serde_json::json!({"paths": {"/v1/shops/{shop}/x": {
            "get": {"security": [{"bearer": ["admin", "owner"]}]},
            "put": {}
        }}});
        let grants = Grants::from_document(&doc);
        assert_eq!(
            grants.get(&Method::GET, "/v1/shops/{shop}/x"),
            Some(&Grant::parse(["admin", "owner"]).unwrap())
        );
        assert_eq!(grants.get(&Method::PUT, "/v1/shops/{shop}/x"), None);
    }
}
