//! DDI providers: who delivers a brand's inbound calls, recognised by source address,
//! with the rules that turn their callee numbers into E.164 (see `crate::detection`).
//! Same roles as carriers: brand business, invisible to client administrators.

use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::db::{self, ddi_providers, ddi_providers::DdiProvider, DbConnection};
use crate::detection;
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_description, check_name};
use crate::ids::{BrandId, DdiProviderId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy::{brand_business, brand_kept, brand_to_write};

/// A provider's address list is a handful of SBCs or a few blocks; the cap keeps a body
/// (and the per-call matching) small.
pub const MAX_ADDRESSES: usize = 1000;

/// `addresses` and `transformationRules` are taken as raw JSON so that every problem,
/// down to one rule's priority, is reported under its own field name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiProviderInput {
    pub brand: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub addresses: Option<Value>,
    pub transformation_rules: Option<Value>,
}

impl DdiProviderInput {
    /// Validates and builds the row of a provider of `brand`.
    fn into_row(
        self,
        brand: BrandId,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<DdiProvider> {
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let description = self.description.unwrap_or_default();
        check_description(&mut v, &description);
        let addresses = check_addresses(&mut v, self.addresses);
        let rules =
            detection::check_rules(&mut v, "transformationRules", self.transformation_rules);
        v.finish()?;
        Ok(DdiProvider {
            id,
            brand_id: brand.into(),
            name: self.name.trim().to_string(),
            description,
            addresses: ddi_providers::to_json(&addresses)?,
            transformation_rules: ddi_providers::to_json(&rules)?,
            created_at,
            updated_at: db::now(),
        })
    }
}

/// The address list in canonical text; absent or `null` is an empty list.
fn check_addresses(v: &mut Validator, raw: Option<Value>) -> Vec<String> {
    let items = match raw {
        None | Some(Value::Null) => return vec![],
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.error(
                "addresses",
                "must be an array of IP addresses or CIDR blocks",
            );
            return vec![];
        }
    };
    if items.len() > MAX_ADDRESSES {
        v.error("addresses", format!("at most {MAX_ADDRESSES} addresses"));
        return vec![];
    }
    let mut nets = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("addresses[{i}]");
        let Some(text) = item.as_str() else {
            v.error(&field, "must be a string");
            continue;
        };
        match detection::parse_address(text) {
            Err(e) => v.error(&field, e),
            Ok(net) => match nets.iter().find(|(_, n)| *n == net) {
                Some((j, _)) => v.error(&field, format!("duplicate of addresses[{j}]")),
                None => nets.push((i, net)),
            },
        }
    }
    nets.iter()
        .map(|(_, net)| detection::address_text(net))
        .collect()
}

pub struct DdiProviders;

impl Resource for DdiProviders {
    type Id = DdiProviderId;
    type Object = DdiProvider;
    type Input = DdiProviderInput;

    const FILTERS: &'static [&'static str] = &["brand", "name"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(provider: &DdiProvider) -> &str {
        &provider.id
    }

    fn find(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &DdiProviderId,
    ) -> AppResult<DdiProvider> {
        let found = ddi_providers::find(conn, id.as_str())?;
        brand_business::visible(caller, found, |o| &o.brand_id)
    }

    fn may_list(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<DdiProvider>)> {
        let filter = brand_business::filter(caller, params)?;
        ddi_providers::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: DdiProviderInput,
    ) -> AppResult<DdiProvider> {
        Self::may_create(caller)?;
        let brand = brand_to_write(conn, caller, input.brand.as_deref())?;
        let row = input.into_row(brand, db::new_id(), db::now())?;
        ddi_providers::insert(conn, &row)?;
        Ok(row)
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: DdiProvider,
        input: DdiProviderInput,
    ) -> AppResult<DdiProvider> {
        let brand = brand_kept(input.brand.as_deref(), &current.brand_id, "a DDI provider")?;
        let row = input.into_row(brand, current.id, current.created_at)?;
        ddi_providers::update(conn, &row)?;
        Ok(row)
    }

    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: DdiProvider,
        _force: bool,
    ) -> AppResult<()> {
        if ddi_providers::delete(conn, &current.id)? == 0 {
            return Err(AppError::not_found()); // deleted by a concurrent request
        }
        Ok(())
    }
}

impl DdiProviders {
    /// What the provider's transformation rules make of `number` (a number as its
    /// records carry it): the rules applied in priority order, as ingestion applies them
    /// to an inbound call from the provider. The provider must be visible (404).
    pub fn try_number(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &DdiProviderId,
        number: &str,
    ) -> AppResult<String> {
        let provider = Self::find(conn, caller, id)?;
        let rules = crate::detection::CompiledRules::compile(&provider.rules()?)
            .map_err(|e| AppError::internal(format!("ddi provider {}: {e}", provider.id)))?;
        Ok(rules.apply(number.trim()))
    }
}
