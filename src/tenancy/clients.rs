//! Clients: a brand's customers. Brand operators (and platform administrators, naming
//! the brand) manage them; a client administrator reads its own client only.

use serde::Deserialize;

use crate::auth::{Caller, Role};
use crate::db::{self, brands::Brand, clients, clients::Client, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_code, check_name, valid_language, valid_timezone};
use crate::ids::{BrandId, ClientId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy::{self, brand_kept};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientInput {
    pub brand: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub client_type: String,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub show_billing_details: Option<bool>,
    /// The account code records carry; unique in the brand (409).
    pub code: Option<String>,
    /// Home country (ISO 3166-1 alpha-2); none = the brand's.
    pub country: Option<String>,
}

impl ClientInput {
    /// Validates against the brand (whose timezone and language are the defaults) and
    /// builds the row.
    fn into_row(
        self,
        conn: &mut DbConnection,
        brand: &BrandId,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Client> {
        let brand: Brand = db::brands::find(conn, brand)?
            .ok_or_else(|| AppError::invalid_field("brand", "not found"))?;
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        v.check(
            tenancy::CLIENT_TYPES.contains(&self.client_type.as_str()),
            "type",
            format!("one of {}", tenancy::CLIENT_TYPES.join(", ")),
        );
        let timezone = self.timezone.unwrap_or(brand.timezone);
        v.check(
            valid_timezone(&timezone),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
        let language = self.language.unwrap_or(brand.language);
        v.check(
            valid_language(&language),
            "language",
            "not a language code (e.g. en, es, pt-BR)",
        );
        let code = check_code(&mut v, self.code);
        let country = crate::tenancy::brands::country_code(&mut v, self.country);
        v.finish()?;
        Ok(Client {
            id,
            brand_id: brand.id,
            name: self.name.trim().to_string(),
            client_type: self.client_type,
            timezone,
            language,
            show_billing_details: self.show_billing_details.unwrap_or(true),
            created_at,
            updated_at: db::now(),
            code,
            country,
        })
    }
}

/// A client's type may change only to one that accepts every endpoint it has.
fn check_endpoints_fit(conn: &mut DbConnection, row: &Client) -> AppResult<()> {
    let misfits: Vec<String> = clients::endpoint_types(conn, &row.id)?
        .into_iter()
        .filter(|t| !tenancy::endpoint_type_fits(&row.client_type, t))
        .collect();
    if misfits.is_empty() {
        return Ok(());
    }
    Err(AppError::invalid_field(
        "type",
        format!(
            "the client has endpoints of type {} that a {} client cannot have",
            misfits.join(", "),
            row.client_type
        ),
    ))
}

pub struct Clients;

impl Resource for Clients {
    type Id = ClientId;
    type Object = Client;
    type Input = ClientInput;

    const FILTERS: &'static [&'static str] = &["brand", "name", "type"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(client: &Client) -> &str {
        &client.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &ClientId) -> AppResult<Client> {
        clients::find(conn, id)?
            .filter(|c| caller.sees_client(&c.brand_id, &c.id))
            .ok_or_else(AppError::not_found)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Client>)> {
        let mut filter = clients::Filter {
            brand: params.filter_id("brand")?,
            name: params.filter("name").map(str::to_string),
            client_type: params.filter_choice("type", tenancy::CLIENT_TYPES)?,
            only_id: None,
        };
        if let Some(own) = caller.brand_scope() {
            if filter.brand.as_ref().is_some_and(|b| *b != own) {
                filter.only_id = Some(String::new()); // another brand: nothing
            }
            filter.brand = Some(own);
        }
        if let Some(own) = caller.client_scope() {
            if filter.only_id.is_none() {
                filter.only_id = Some(own);
            }
        }
        clients::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    fn create(conn: &mut DbConnection, caller: &Caller, input: ClientInput) -> AppResult<Client> {
        Self::may_create(caller)?;
        let brand = caller.write_brand(input.brand.as_deref())?;
        let brand = BrandId::parse_ref("brand", &brand)?;
        let row = input.into_row(conn, &brand, db::new_id(), db::now())?;
        clients::insert(conn, &row)?;
        Ok(row)
    }

    /// A client administrator reads its client; only operators change it.
    fn may_change(caller: &Caller, _current: &Client) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Client,
        input: ClientInput,
    ) -> AppResult<Client> {
        let brand = brand_kept(input.brand.as_deref(), &current.brand_id, "a client")?;
        db::transaction(conn, |conn| {
            let row = input.into_row(conn, &brand, current.id.clone(), current.created_at)?;
            if row.client_type != current.client_type {
                check_endpoints_fit(conn, &row)?;
            }
            clients::update(conn, &row)?;
            Ok(row)
        })
    }

    /// Refused (409) while the client has DDIs, endpoints or administrators, unless a
    /// platform administrator forces it.
    fn remove(
        conn: &mut DbConnection,
        caller: &Caller,
        current: Client,
        force: bool,
    ) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])?;
        if force {
            caller.require(&[Role::Platform])?;
        }
        let id = ClientId::from_db(current.id);
        db::transaction(conn, |conn| {
            db::cdr_sources::refuse_if_default(conn, &current.brand_id, id.as_str(), "client")?;
            if !force && clients::has_data(conn, id.as_str())? {
                return Err(AppError::conflict(
                    "the client has DDIs, endpoints or administrators; delete them first (or a platform administrator uses ?force=true)",
                ));
            }
            clients::delete(conn, &id)
        })?;
        Ok(())
    }
}
