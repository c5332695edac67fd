//! `GET /export`: a shop day's record as JSON lines, the format `fenliu sim
//! --replay` reads (spec §10; the lines are `fenliu_core::daylog::Fact`).

use actix_web::web::{Data, Query};
use actix_web::{get, HttpResponse};
use fenliu_core::query::Settings;
use fenliu_core::time::parse_date;
use fenliu_node::Node;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::paths::ShopPath;

/// Query of `GET /export`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The shop day, `YYYY-MM-DD` in the shop's timezone; default today.
    /// A day's record is kept for 7 days after it ends; an older day, or one
    /// with nothing recorded, answers no lines.
    #[param(value_type = Option<String>, format = Date)]
    date: Option<String>,
}

/// A day's record, for replaying it (导出)
///
/// One JSON object per line (`application/x-ndjson`), oldest first: a
/// `start` line (the shop as its node found it), then one line per input
/// (an inquiry, a message, a status change, …) and per outcome (assigned,
/// queued, ended, …), each with `at` in milliseconds. docs/simulator.md
/// describes every kind. What a command decided is in the record once the
/// command was answered.
#[utoipa::path(
    tag = "stats",
    params(ShopPath, ExportQuery),
    security(("bearer" = ["admin", "supervisor"])),
    responses((status = OK, description = "the day's record, one JSON object per line",
        content_type = "application/x-ndjson", body = String)),
)]
#[get("/export")]
pub async fn export(
    node: Data<Node>,
    access: Access<ShopPath, Query<ExportQuery>>,
) -> ApiResult<HttpResponse> {
    let shop = &access.path.shop;
    let day = match access.input.into_inner().date {
        Some(raw) => parse_date(&raw).map_err(ApiError::from)?,
        None => {
            let settings = node.ask(shop, Settings).await?;
            settings.timezone.day_of(node.now())
        }
    };
    let lines = node.day_log(shop, day).await?;
    let mut body = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        body.extend_from_slice(&line);
        body.push(b'\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .body(body))
}
