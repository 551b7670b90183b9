//! `/cdr_sources`: the JSON view of a CDR source and its secret rotation; the rules are in
//! `sources::cdr_sources`.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::api::rest::{self, Rest};
use crate::api::{ok, resource, ts};
use crate::auth::Caller;
use crate::db;
use crate::error::AppResult;
use crate::ids::{CdrSourceId, Id};
use crate::sources::cdr_sources::{
    self, CdrSources, DirectionRuleSpec, MappingSpec, NumberingSpec, Source,
};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cdr_sources")
            .route(web::get().to(rest::list::<CdrSources>))
            .route(web::post().to(rest::create::<CdrSources>)),
    );
    cfg.service(
        resource("/cdr_sources/{id}")
            .route(web::get().to(rest::get::<CdrSources>))
            .route(web::put().to(rest::update::<CdrSources>))
            .route(web::patch().to(rest::update::<CdrSources>))
            .route(web::delete().to(rest::delete::<CdrSources>)),
    );
    cfg.service(resource("/cdr_sources/{id}/rotate_secret").route(web::post().to(rotate_secret)));
}

/// A new push secret, shown in the answer this once.
async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (id, asking) = (CdrSourceId::parse(&id)?, caller.clone());
    let source = db::run(&state.pool, move |conn| {
        CdrSources::rotate_secret(conn, &asking, &id)
    })
    .await?;
    Ok(ok(&CdrSources::view(source, &caller)?))
}

impl Rest for CdrSources {
    const PATH: &'static str = "/cdr_sources";
    const READ_ONLY: &'static [&'static str] = &["pushSecret", "lastError", "lastPulledAt"];
    type View = CdrSourceView;

    fn view(source: Source, _caller: &Caller) -> AppResult<CdrSourceView> {
        let stored = cdr_sources::stored(&source.row)?;
        let s = source.row;
        let spool = match (s.spool_path, s.spool_pattern) {
            (Some(path), Some(pattern)) => Some(SpoolView { path, pattern }),
            _ => None,
        };
        let pull = match (s.pull_url, s.pull_interval_minutes) {
            (Some(url), Some(interval_minutes)) => Some(PullView {
                url,
                interval_minutes,
                has_token: s.pull_token.is_some(),
            }),
            _ => None,
        };
        Ok(CdrSourceView {
            id: s.id,
            brand: s.brand_id,
            name: s.name,
            format: s.format,
            timezone: s.timezone,
            columns: stored.columns,
            answered_only: s.answered_only,
            numbering: stored.numbering,
            direction: stored.direction,
            mapping: stored.mapping,
            call_types: stored.call_types,
            spool,
            pull,
            callid_prefix: s.callid_prefix,
            enabled: s.enabled,
            push_secret: source.push_secret.map(|secret| secret.0),
            last_error: s.last_error,
            last_pulled_at: s.last_pulled_at.map(ts),
            created_at: ts(s.created_at),
            updated_at: ts(s.updated_at),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpoolView {
    pub path: String,
    pub pattern: String,
}

/// The token is write-only: only whether there is one shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullView {
    pub url: String,
    pub interval_minutes: i32,
    pub has_token: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CdrSourceView {
    pub id: String,
    pub brand: String,
    pub name: String,
    pub format: String,
    /// `null`: the brand's time zone (read at import time).
    pub timezone: Option<String>,
    pub columns: Option<Vec<String>>,
    pub answered_only: bool,
    /// `null`: the brand's country's conventions (read at import time).
    pub numbering: Option<NumberingSpec>,
    pub direction: Vec<DirectionRuleSpec>,
    pub mapping: MappingSpec,
    pub call_types: Option<Vec<String>>,
    pub spool: Option<SpoolView>,
    pub pull: Option<PullView>,
    pub callid_prefix: String,
    pub enabled: bool,
    /// Only in the answers of create and rotate_secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_secret: Option<String>,
    pub last_error: Option<String>,
    pub last_pulled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
