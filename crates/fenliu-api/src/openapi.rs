//! The OpenAPI 3.1 document of the API, served at `/v1/openapi.json`.
//!
//! Nothing here is written by hand but the title: the paths come from the
//! routes as they are registered (utoipa-actix-web), their schemas from the
//! types the handlers read and answer, who may call each operation from its
//! security requirement (which [`crate::access`] enforces), and the error
//! answers from the [`Code`] table. The server also reads the document: the
//! `Allow` header of a 405 lists the methods it declares for the path.

use actix_web::dev::ResourceDef;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::access::{Grants, BEARER};
use crate::error::{ApiError, Code, ErrorBody};
use crate::{routes, schema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fenliu (分流) API",
        version = "1",
        description = "Routes customer-service inquiries of online shops to agents. Every \
            `/v1/shops/...` call needs `Authorization: Bearer <JWT>` (HS256; claims `sub`, \
            `role`, `shop`, `exp`); the role names of each operation's security requirement say \
            who may call it: `admin`, `supervisor`, `service`, `agent` (any agent of the shop), \
            `self` (the agent the path names), `owner` (the agent the conversation is assigned \
            to). Request bodies are JSON; unknown fields and `null` for a field are refused \
            with 400. See docs/api.md.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&Bearer),
    components(schemas(
        ErrorBody,
        Code,
        schema::ShopId,
        schema::AgentId,
        schema::GroupId,
        schema::ConversationId,
        schema::EventId,
        schema::AgentStatus,
        schema::Metric,
        schema::SortOrder,
    )),
)]
struct ApiDoc;

/// Declares the bearer scheme the operations' requirements name.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "an HS256 JWT signed with the node's secret, with claims `sub`, `role` \
                         (admin, supervisor, agent, service), `shop` (or `*` for a service) and \
                         `exp`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The methods a document may declare, in the order `Allow` lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// The document as utoipa builds it from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    api
}

/// The finished document, as served.
pub fn document_json() -> Value {
    let mut doc = serde_json::to_value(openapi()).expect("the document serializes");
    finish(&mut doc);
    doc
}

/// Drops `"default": null` from schemas that do not admit `null`: utoipa
/// writes each field's `Default` value, which for a field that may be left
/// out but not be `null` (`queue.max_length`) is no value at all.
fn drop_null_defaults(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let admits_null = match map.get("type") {
                Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
                Some(Value::String(t)) => t == "null",
                _ => map.contains_key("oneOf") || map.contains_key("anyOf"),
            };
            if map.get("default") == Some(&Value::Null) && !admits_null {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_defaults),
        _ => {}
    }
}

/// The reference of the error response with `code`.
fn error_ref(code: Code) -> Value {
    json!({"$ref": format!("#/components/responses/{}", code.as_str())})
}

/// Adds what every operation shares: the error answers it may give (from
/// the [`Code`] table) and, in its description, who may call it (from its
/// security requirement).
fn finish(doc: &mut Value) {
    let responses: Map<String, Value> = Code::ALL
        .iter()
        .map(|code| {
            let response = json!({
                "description": format!("`{}`: {}", code.as_str(), code.description()),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            });
            (code.as_str().to_owned(), response)
        })
        .collect();
    doc["components"]["responses"] = Value::Object(responses);
    drop_null_defaults(doc);
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (_, op) in item
            .iter_mut()
            .filter(|(m, _)| METHODS.contains(&m.as_str()))
        {
            let roles: Vec<String> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r[BEARER].as_array())
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
            let errors: &[Code] = if roles.is_empty() {
                if path == "/readyz" {
                    &[Code::PayloadTooLarge, Code::Unavailable]
                } else {
                    &[Code::PayloadTooLarge]
                }
            } else {
                &[
                    Code::InvalidRequest,
                    Code::Unauthorized,
                    Code::Forbidden,
                    Code::NotFound,
                    Code::Conflict,
                    Code::PayloadTooLarge,
                    Code::Internal,
                    Code::Unavailable,
                ]
            };
            for code in errors {
                op["responses"][code.status().as_str()] = error_ref(*code);
            }
            for (status, response) in op["responses"].as_object_mut().into_iter().flatten() {
                if response.get("$ref").is_none() && response.get("description").is_none() {
                    let reason = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("success");
                    response["description"] = Value::String(reason.to_lowercase());
                }
            }
            let who = if roles.is_empty() {
                "Who may call: anyone, without a token.".to_owned()
            } else {
                format!("Who may call: {}.", roles.join(", "))
            };
            let description = match op["description"].as_str() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{who}"),
                _ => who,
            };
            op["description"] = Value::String(description);
        }
    }
}

/// The served document and what the server reads from it.
pub struct Document {
    bytes: Bytes,
    grants: Grants,
    /// Each path of the document, and its `Allow` header.
    allow: Vec<(ResourceDef, String)>,
}

impl Document {
    /// The document of this server.
    pub fn build() -> Document {
        Self::from_json(&document_json())
    }

    fn from_json(doc: &Value) -> Document {
        let allow = doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let methods: Vec<String> = METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
                (ResourceDef::new(path.as_str()), methods.join(", "))
            })
            .collect();
        Document {
            bytes: Bytes::from(serde_json::to_vec(doc).expect("the document serializes")),
            grants: Grants::from_document(doc),
            allow,
        }
    }

    /// The document as JSON text.
    pub fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    /// The grants of the operations.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The methods the document declares for `path`, as an `Allow` header.
    pub fn allow(&self, path: &str) -> Option<&str> {
        self.allow
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, allow)| allow.as_str())
    }
}

/// What answers a request no route took: 405 with `Allow` on a path of the
/// document (the method is not one it declares), else 404.
pub async fn unrouted(req: HttpRequest, doc: Data<Document>) -> HttpResponse {
    let method = req.method().as_str();
    let err = match doc.allow(req.path()) {
        // A declared method that no route took cannot happen (the routes are
        // the document); a 404 then, rather than a 405 its `Allow` belies.
        Some(allow) if !allow.split(", ").any(|m| m == method) => {
            ApiError::method_not_allowed(allow.to_owned())
        }
        _ => ApiError::not_found("no such route"),
    };
    err.error_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    #[test]
    fn every_route_of_the_api_table_is_described_once() {
        let doc = document_json();
        let paths = doc["paths"].as_object().unwrap();
        let ops: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, item)| {
                METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(move |m| (m.to_string(), p.clone()))
            })
            .collect();
        // 25 rows of the spec's table, `stats` (section 8), `accept` and
        // `reject` (section 9), `export` (section 10), `move`, an agent's
        // conversations, its heartbeat, healthz, readyz, metrics and this
        // document.
        assert_eq!(ops.len(), 36, "{ops:?}");
        assert!(paths.contains_key("/v1/shops/{shop}/stats"));
        assert!(paths.contains_key("/v1/shops/{shop}/export"));
        assert!(paths.contains_key("/v1/shops/{shop}/conversations/{id}/accept"));
        assert!(paths.contains_key("/v1/shops/{shop}/conversations/{id}/reject"));
        assert!(paths.contains_key("/v1/shops/{shop}/agents/{agent}/heartbeat"));
        assert!(paths.contains_key("/v1/shops/{shop}/agents/{agent}/conversations"));
        let mut ids: Vec<&str> = paths
            .values()
            .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "operation ids are unique");
    }

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_of_the_document_resolves() {
        let doc = document_json();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn every_shop_operation_declares_who_may_call_it_and_its_errors() {
        let doc = document_json();
        let document = Document::from_json(&doc);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for m in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                let op = &item[*m];
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let granted = document.grants().get(&method, path).is_some();
                assert_eq!(granted, path.starts_with("/v1/shops/"), "{m} {path}");
                assert!(op["responses"]["400"].is_object() || !granted, "{m} {path}");
                assert!(op["responses"]["413"].is_object(), "{m} {path}");
                assert!(op["description"].as_str().unwrap().contains("Who may call"));
            }
        }
    }

    #[test]
    fn a_path_of_the_document_allows_the_methods_it_declares() {
        let doc = Document::build();
        assert_eq!(
            doc.allow("/v1/shops/s1/agents/a1"),
            Some("GET, PUT, DELETE")
        );
        assert_eq!(doc.allow("/v1/shops/s1/routing"), Some("GET, PUT"));
        assert_eq!(doc.allow("/healthz"), Some("GET"));
        assert_eq!(doc.allow("/v1/shops/s1/agents/a1/unknown"), None);
    }

    #[test]
    fn request_bodies_refuse_unknown_fields_in_the_document_too() {
        let doc = document_json();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "AgentBody",
            "StatusBody",
            "MaxLoadBody",
            "GroupBody",
            "RoutingSettings",
            "Inquiry",
            "ProactiveBody",
            "MessageBody",
            "RatingBody",
            "OrderBody",
            "MoveBody",
        ] {
            assert_eq!(
                schemas[name]["additionalProperties"],
                json!(false),
                "{name}: {}",
                schemas[name]
            );
        }
    }
}
