//! Brands: platform administrators manage them; brand and client administrators read
//! their own.

use serde::Deserialize;

use crate::auth::{Caller, Role};
use crate::db::{self, brands, brands::Brand, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, valid_currency, valid_email, valid_language, valid_timezone};
use crate::ids::{BrandId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::sources::numbering::Numbering;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrandInput {
    pub name: String,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub currency: Option<String>,
    pub email: Option<String>,
    /// ISO 3166-1 alpha-2 (any case; stored in capitals); absent, null or empty: none.
    pub country: Option<String>,
}

impl BrandInput {
    /// Validates and fills defaults into a row (id and times are the caller's).
    fn into_row(self, id: String, created_at: chrono::NaiveDateTime) -> AppResult<Brand> {
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let timezone = self.timezone.unwrap_or_else(|| "UTC".into());
        v.check(
            valid_timezone(&timezone),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
        let language = self.language.unwrap_or_else(|| "en".into());
        v.check(
            valid_language(&language),
            "language",
            "not a language code (e.g. en, es, pt-BR)",
        );
        let currency = self.currency.unwrap_or_else(|| "EUR".into());
        v.check(
            valid_currency(&currency),
            "currency",
            "not an ISO 4217 code (e.g. EUR)",
        );
        let email = self.email.filter(|e| !e.trim().is_empty());
        if let Some(email) = &email {
            v.check(valid_email(email), "email", "not a valid address");
        }
        let country = country_code(&mut v, self.country);
        v.finish()?;
        Ok(Brand {
            id,
            name: self.name.trim().to_string(),
            timezone,
            language,
            currency,
            email,
            created_at,
            updated_at: db::now(),
            country,
        })
    }
}

/// A country the numbering library knows (ISO 3166-1 alpha-2), in capitals; empty is none.
pub(crate) fn country_code(v: &mut Validator, raw: Option<String>) -> Option<String> {
    let code = raw
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())?;
    let known = code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && Numbering::for_country(&code).is_some();
    v.check(
        known,
        "country",
        "not an ISO 3166-1 alpha-2 country code with a known numbering plan (e.g. ES, GB, US)",
    );
    Some(code)
}

/// A brand's country may go only while no CDR source numbers its calls by it.
fn check_country_kept(conn: &mut DbConnection, current: &Brand, row: &Brand) -> AppResult<()> {
    if row.country.is_some() || current.country.is_none() {
        return Ok(());
    }
    let following = db::cdr_sources::following_brand_country(conn, &row.id)?;
    if following == 0 {
        return Ok(());
    }
    Err(AppError::invalid_field(
        "country",
        format!(
            "{following} CDR source(s) of the brand number their calls by its country; give them a numbering first"
        ),
    ))
}

pub struct Brands;

impl Resource for Brands {
    type Id = BrandId;
    type Object = Brand;
    type Input = BrandInput;

    const FILTERS: &'static [&'static str] = &["name"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(brand: &Brand) -> &str {
        &brand.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &BrandId) -> AppResult<Brand> {
        brands::find(conn, id)?
            .filter(|b| caller.sees_brand(&b.id))
            .ok_or_else(AppError::not_found)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Brand>)> {
        let only = caller.brand_scope();
        if !caller.is_platform() && only.is_none() {
            return Err(AppError::forbidden("no brand"));
        }
        brands::list(conn, only.as_deref(), params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        caller.require(&[Role::Platform])
    }

    fn create(conn: &mut DbConnection, caller: &Caller, input: BrandInput) -> AppResult<Brand> {
        Self::may_create(caller)?;
        let row = input.into_row(db::new_id(), db::now())?;
        brands::insert(conn, &row)?;
        Ok(row)
    }

    fn may_change(caller: &Caller, _current: &Brand) -> AppResult<()> {
        caller.require(&[Role::Platform])
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Brand,
        input: BrandInput,
    ) -> AppResult<Brand> {
        let row = input.into_row(current.id.clone(), current.created_at)?;
        db::transaction(conn, |conn| {
            check_country_kept(conn, &current, &row)?;
            brands::update(conn, &row)
        })?;
        Ok(row)
    }

    /// Refused (409) while anything was created under the brand, unless `force`, which
    /// deletes all of it (foreign keys cascade).
    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Brand,
        force: bool,
    ) -> AppResult<()> {
        let id = BrandId::from_db(current.id);
        db::transaction(conn, |conn| {
            if !force && brands::has_data(conn, &id)? {
                return Err(AppError::conflict(
                    "the brand has clients, carriers, providers, templates, administrators or CDR sources; delete them first or use ?force=true",
                ));
            }
            brands::delete(conn, &id)
        })?;
        Ok(())
    }
}
