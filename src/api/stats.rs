//! `GET /stats`: the query string into a `stats::StatsQuery`, the operation, and its answer
//! as JSON or (`Accept: text/csv`) CSV. The rules are `stats::query`'s.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::api::billable_calls::wants_csv;
use crate::api::{ok, resource, ListParams};
use crate::auth::Caller;
use crate::db;
use crate::error::AppResult;
use crate::stats::measures::{Measures, Visibility};
use crate::stats::{self, StatsAnswer, StatsQuery, StatsRow};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/stats").route(web::get().to(get)));
}

async fn get(
    state: web::Data<crate::AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(&req, stats::PARAMS, stats::ORDER)?;
    let query = StatsQuery::from_params(&params)?;
    let answer = db::run(&state.pool, move |conn| stats::query(conn, &caller, &query)).await?;
    if wants_csv(&req) {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(crate::report::stats_csv::write(&answer)?));
    }
    Ok(ok(&to_json(&answer)))
}

fn to_json(a: &StatsAnswer) -> Value {
    let rows: Vec<Value> = a.rows.iter().map(|r| row_json(r, a.visibility)).collect();
    json!({
        "from": a.from,
        "to": a.to,
        "timezone": a.timezone,
        "groupBy": a.group_by.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "rows": rows,
        "totals": Measures::of(&a.totals, a.visibility),
    })
}

fn row_json(r: &StatsRow, shown: Visibility) -> Value {
    let mut out = Map::new();
    match &r.key {
        None => {
            out.insert("key".into(), json!("other"));
        }
        Some(parts) => {
            let mut key = Map::new();
            let mut names = Map::new();
            for p in parts {
                key.insert(p.dimension.name().into(), json!(p.value));
                if p.dimension.names_from().is_some() {
                    names.insert(p.dimension.name().into(), json!(p.name));
                }
            }
            out.insert("key".into(), Value::Object(key));
            if !names.is_empty() {
                out.insert("names".into(), Value::Object(names));
            }
        }
    }
    if let Value::Object(measures) = json!(Measures::of(&r.sums, shown)) {
        out.extend(measures);
    }
    Value::Object(out)
}
