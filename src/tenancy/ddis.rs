//! DDIs: a brand's public numbers, each assigned to one of its clients. Brand operators
//! (and platform administrators, naming the brand) manage them; a client administrator
//! reads its own client's DDIs, without the provider link, which is the brand's business.

use serde::Deserialize;

use crate::auth::{Caller, Role};
use crate::db::{self, ddis, ddis::Ddi, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::reference;
use crate::ids::{BrandId, ClientId, DdiId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy::{brand_kept, brand_to_write};

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

impl DdiInput {
    /// Validates against `brand` (client and provider must both be of that brand) and
    /// builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand: BrandId,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Ddi> {
        let brand_id = brand.as_str();
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
            brand_id: brand.to_string(),
            // Present: a missing or unknown client failed validation above.
            client_id: client.unwrap_or_default(),
            ddi_e164: number.to_string(),
            ddi_provider_id: provider,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// A number from a query string. An unescaped `+` there decodes to a space, so
/// `?ddiE164=+34…` arrives as `" 34…"`; take it as the `+` that was meant.
fn query_number(raw: &str) -> String {
    match raw.strip_prefix(' ') {
        Some(digits) => format!("+{digits}"),
        None => raw.to_string(),
    }
}

pub struct Ddis;

impl Resource for Ddis {
    type Id = DdiId;
    type Object = Ddi;
    type Input = DdiInput;

    const FILTERS: &'static [&'static str] = &["brand", "client", "ddiE164", "ddiProvider"];
    const ORDER: &'static [&'static str] = &["ddiE164", "createdAt"];

    /// Client administrators cannot see provider links, so cannot filter on them either.
    fn filters(caller: &Caller) -> &'static [&'static str] {
        match caller.role {
            Role::Client => &["brand", "client", "ddiE164"],
            Role::Platform | Role::Brand => Self::FILTERS,
        }
    }

    fn id_of(ddi: &Ddi) -> &str {
        &ddi.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &DdiId) -> AppResult<Ddi> {
        ddis::find(conn, id.as_str())?
            .filter(|d| caller.sees_client(&d.brand_id, &d.client_id))
            .ok_or_else(AppError::not_found)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Ddi>)> {
        let ddi_provider = match Self::filters(caller).contains(&"ddiProvider") {
            true => params.filter_id("ddiProvider")?,
            false => None,
        };
        // Naming another tenant's brand or client matches nothing rather than failing, so
        // the answer is the same whether that tenant exists or not.
        let scope = caller.list_scope(params.filter_id("brand")?, params.filter_id("client")?);
        let filter = ddis::Filter {
            brand: scope.brand,
            client: scope.client,
            ddi_e164: params.filter("ddiE164").map(query_number),
            ddi_provider,
            nothing: scope.nothing,
        };
        ddis::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    fn create(conn: &mut DbConnection, caller: &Caller, input: DdiInput) -> AppResult<Ddi> {
        Self::may_create(caller)?;
        let brand = brand_to_write(conn, caller, input.brand.as_deref())?;
        let row = input.into_row(conn, brand, db::new_id(), db::now())?;
        ddis::insert(conn, &row)?;
        Ok(row)
    }

    fn may_change(caller: &Caller, _current: &Ddi) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Ddi,
        input: DdiInput,
    ) -> AppResult<Ddi> {
        let brand = brand_kept(input.brand.as_deref(), &current.brand_id, "a DDI")?;
        let row = input.into_row(conn, brand, current.id, current.created_at)?;
        ddis::update(conn, &row)?;
        Ok(row)
    }

    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Ddi,
        _force: bool,
    ) -> AppResult<()> {
        ddis::delete(conn, &current.id)?;
        Ok(())
    }
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
