//! `/ddis`: a brand's public numbers, each assigned to one of its clients. Brand operators
//! (and platform administrators, naming the brand) manage them; a client administrator
//! reads its own client's DDIs, without the provider link, which is the brand's business.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{
    created, no_content, ok, paged, parse_body, parse_id, parse_ref, patched, resource, ts,
    ListParams,
};
use crate::auth::{Caller, Role};
use crate::db::{self, ddis, ddis::Ddi, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::ids::{BrandId, ClientId, Id};
use crate::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/ddis")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    );
    cfg.service(
        resource("/ddis/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DdiView {
    pub id: String,
    pub brand: String,
    pub client: String,
    pub ddi_e164: String,
    /// Outer `None`: hidden from this caller (the field is left out); inner: the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddi_provider: Option<Option<String>>,
    pub created_at: String,
    pub updated_at: String,
}

impl DdiView {
    /// The DDI as `caller` may see it: client administrators never see the provider.
    pub fn for_caller(d: Ddi, caller: &Caller) -> DdiView {
        let ddi_provider = match caller.role {
            Role::Client => None,
            Role::Platform | Role::Brand => Some(d.ddi_provider_id),
        };
        DdiView {
            id: d.id,
            brand: d.brand_id,
            client: d.client_id,
            ddi_e164: d.ddi_e164,
            ddi_provider,
            created_at: ts(d.created_at),
            updated_at: ts(d.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiInput {
    pub brand: Option<String>,
    // Required, but optional here so a missing one is reported in `fields` with the rest.
    pub client: Option<String>,
    pub ddi_e164: Option<String>,
    pub ddi_provider: Option<String>,
}

/// `+` then 6 to 15 digits, the first not 0 (E.164 country codes never start with 0).
pub fn valid_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (6..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The id in a reference field, or `None` after recording why there is none.
fn reference(v: &mut Validator, field: &str, raw: Option<&str>) -> Option<String> {
    match raw {
        None => None,
        Some(raw) => {
            let parsed = parse_ref(field, raw).ok();
            v.check(parsed.is_some(), field, "not a UUID");
            parsed
        }
    }
}

impl DdiInput {
    /// Validates against `brand_id` (client and provider must both be of that brand) and
    /// builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand_id: &str,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Ddi> {
        if !db::brands::exists(conn, &BrandId::from_db(brand_id.to_string()))? {
            return Err(AppError::invalid_field("brand", "not found"));
        }
        let mut v = Validator::new();
        v.check(self.client.is_some(), "client", "required");
        let client = reference(&mut v, "client", self.client.as_deref());
        if let Some(client_id) = &client {
            let of_brand = db::clients::find(conn, &ClientId::from_db(client_id.clone()))?
                .is_some_and(|c| c.brand_id == brand_id);
            // The same words whether the client is missing or another brand's: never
            // reveal another tenant's ids.
            v.check(of_brand, "client", "not found in the brand");
        }
        let number = self.ddi_e164.as_deref().map(str::trim).unwrap_or_default();
        v.check(self.ddi_e164.is_some(), "ddiE164", "required");
        v.check(
            valid_e164(number),
            "ddiE164",
            "an E.164 number: + and 6 to 15 digits, not starting with 0 (e.g. +34911234567)",
        );
        let provider = reference(&mut v, "ddiProvider", self.ddi_provider.as_deref());
        if let Some(provider_id) = &provider {
            let of_brand = ddis::provider_brand(conn, provider_id)?.as_deref() == Some(brand_id);
            v.check(of_brand, "ddiProvider", "not found in the brand");
        }
        v.finish()?;
        Ok(Ddi {
            id,
            brand_id: brand_id.to_string(),
            // Present: a missing or unknown client failed validation above.
            client_id: client.unwrap_or_default(),
            ddi_e164: number.to_string(),
            ddi_provider_id: provider,
            created_at,
            updated_at: db::now(),
        })
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    // Client administrators cannot see provider links, so cannot filter on them either.
    let filters: &[&str] = match caller.role {
        Role::Client => &["brand", "client", "ddiE164"],
        Role::Platform | Role::Brand => &["brand", "client", "ddiE164", "ddiProvider"],
    };
    let params = ListParams::parse(&req, filters, &["ddiE164", "createdAt"])?;
    let mut filter = ddis::Filter {
        brand: params.filter_id("brand")?,
        client: params.filter_id("client")?,
        ddi_e164: params.filter("ddiE164").map(query_number),
        ddi_provider: params.filter_id("ddiProvider")?,
        nothing: false,
    };
    // Naming another tenant's brand or client matches nothing rather than failing, so
    // the answer is the same whether that tenant exists or not.
    let scope = caller.list_scope(filter.brand.take(), filter.client.take());
    (filter.brand, filter.client, filter.nothing) = (scope.brand, scope.client, scope.nothing);
    paged(
        &state.pool,
        &req,
        params,
        move |conn, params| ddis::list(conn, &filter, params),
        |d| DdiView::for_caller(d, &caller),
    )
    .await
}

/// A number from a query string. An unescaped `+` there decodes to a space, so
/// `?ddiE164=+34…` arrives as `" 34…"`; take it as the `+` that was meant.
fn query_number(raw: &str) -> String {
    match raw.strip_prefix(' ') {
        Some(digits) => format!("+{digits}"),
        None => raw.to_string(),
    }
}

/// Loads a DDI the caller may see; anything else is a 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> AppResult<Ddi> {
    let id = parse_id(id)?;
    let found = db::run(&state.pool, move |conn| ddis::find(conn, &id)).await?;
    found
        .filter(|d| caller.sees_client(&d.brand_id, &d.client_id))
        .ok_or_else(AppError::not_found)
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let ddi = visible(&state, &caller, &id).await?;
    Ok(ok(&DdiView::for_caller(ddi, &caller)))
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Platform, Role::Brand])?;
    let input: DdiInput = parse_body(body.into_inner(), &[])?;
    let brand = caller.write_brand(input.brand.as_deref())?;
    let brand = parse_ref("brand", &brand)?;
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &brand, db::new_id(), db::now())?;
        ddis::insert(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(created(
        format!("/ddis/{}", row.id),
        &DdiView::for_caller(row, &caller),
    ))
}

async fn save(
    state: &AppState,
    caller: &Caller,
    current: Ddi,
    input: DdiInput,
) -> AppResult<HttpResponse> {
    if input.brand.as_ref().is_some_and(|b| *b != current.brand_id) {
        return Err(AppError::invalid_field(
            "brand",
            "a DDI cannot move to another brand",
        ));
    }
    let row = db::run(&state.pool, move |conn| {
        let row = input.into_row(conn, &current.brand_id, current.id, current.created_at)?;
        ddis::update(conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(ok(&DdiView::for_caller(row, caller)))
}

async fn replace(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    let input = parse_body(body.into_inner(), &[])?;
    save(&state, &caller, current, input).await
}

async fn patch(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    let view = DdiView::for_caller(current.clone(), &caller);
    let input = patched(&view, body.into_inner(), &[])?;
    save(&state, &caller, current, input).await
}

async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let current = visible(&state, &caller, &id).await?;
    caller.require(&[Role::Platform, Role::Brand])?;
    db::run(&state.pool, move |conn| ddis::delete(conn, &current.id)).await?;
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        for good in ["+34911234567", "+123456", "+123456789012345"] {
            assert!(valid_e164(good), "{good}");
        }
        for bad in [
            "34911234567",
            "+12345",
            "+1234567890123456",
            "+0911234567",
            "+34 911 234 567",
            "+3491123456a",
            "+",
            "",
        ] {
            assert!(!valid_e164(bad), "{bad}");
        }
    }

    #[test]
    fn unescaped_plus_in_a_query_is_a_plus() {
        assert_eq!(query_number(" 34911234567"), "+34911234567");
        assert_eq!(query_number("+34911234567"), "+34911234567");
    }
}
