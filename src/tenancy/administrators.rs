//! Administrators: platform administrators manage everybody; a brand operator manages
//! its brand's operators and its clients' administrators; a client administrator sees and
//! edits only itself (password and timezone).

use serde::Deserialize;

use crate::auth::{password, Caller, Role};
use crate::db::{self, administrators, administrators::Administrator, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_name, valid_timezone};
use crate::ids::{AdministratorId, ClientId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy::brand_to_write;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdministratorInput {
    pub username: String,
    /// Required on create; absent on update = keep the current one.
    pub password: Option<String>,
    pub role: String,
    pub brand: Option<String>,
    pub client: Option<String>,
    pub active: Option<bool>,
    pub timezone: Option<String>,
}

/// Field checks that need no database.
fn validate_fields(input: &AdministratorInput, creating: bool) -> AppResult<Role> {
    let mut v = Validator::new();
    check_name(&mut v, "username", &input.username, 100);
    v.check(
        !input.username.contains(char::is_whitespace),
        "username",
        "must not contain spaces",
    );
    match &input.password {
        Some(p) => v.check(
            p.chars().count() >= 8 && p.len() <= 1024,
            "password",
            "8 to 1024 characters",
        ),
        None => v.check(!creating, "password", "required"),
    }
    let role = Role::parse(&input.role);
    v.check(role.is_some(), "role", "one of platform, brand, client");
    if let Some(tz) = &input.timezone {
        v.check(
            valid_timezone(tz),
            "timezone",
            "not an IANA time zone (e.g. Europe/Madrid)",
        );
    }
    v.finish()?;
    role.ok_or_else(|| AppError::invalid_field("role", "one of platform, brand, client"))
}

/// Resolves and checks the brand/client an administrator of `role` belongs to, as the
/// caller is allowed to assign them. Returns (brand, client).
fn tenant_of(
    conn: &mut DbConnection,
    caller: &Caller,
    role: Role,
    brand: Option<String>,
    client: Option<String>,
) -> AppResult<(Option<String>, Option<String>)> {
    if caller.role == Role::Brand && role == Role::Platform {
        return Err(AppError::forbidden(
            "a brand operator cannot create platform administrators",
        ));
    }
    match role {
        Role::Platform => {
            if brand.is_some() || client.is_some() {
                return Err(AppError::invalid_field(
                    "brand",
                    "platform administrators belong to no brand or client",
                ));
            }
            Ok((None, None))
        }
        Role::Brand => {
            if client.is_some() {
                return Err(AppError::invalid_field(
                    "client",
                    "brand operators belong to no client",
                ));
            }
            let brand = brand_to_write(conn, caller, brand.as_deref())?;
            Ok((Some(brand.into()), None))
        }
        Role::Client => {
            let client = client.ok_or_else(|| {
                AppError::invalid_field("client", "required for client administrators")
            })?;
            let client = ClientId::parse_ref("client", &client)?;
            let found = db::clients::find(conn, &client)?
                .filter(|c| caller.sees_client(&c.brand_id, &c.id));
            let found = found.ok_or_else(|| AppError::invalid_field("client", "not found"))?;
            if let Some(b) = brand {
                if b != found.brand_id {
                    return Err(AppError::invalid_field(
                        "brand",
                        "is not the client's brand",
                    ));
                }
            }
            Ok((Some(found.brand_id), Some(found.id)))
        }
    }
}

/// May the caller see this administrator? (Client administrators see themselves only.)
fn sees(caller: &Caller, a: &Administrator) -> bool {
    match caller.role {
        Role::Platform => true,
        Role::Brand => a.brand_id.is_some() && a.brand_id == caller.brand_id,
        Role::Client => a.id == caller.id,
    }
}

/// A password's hash (argon2: deliberately slow; done once the input is known valid).
fn hash(plain: &str) -> AppResult<String> {
    password::hash(plain).map_err(AppError::internal)
}

pub struct Administrators;

impl Resource for Administrators {
    type Id = AdministratorId;
    type Object = Administrator;
    type Input = AdministratorInput;

    const FILTERS: &'static [&'static str] = &["username", "role", "brand", "client", "active"];
    const ORDER: &'static [&'static str] = &["username", "createdAt"];

    fn id_of(admin: &Administrator) -> &str {
        &admin.id
    }

    fn find(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &AdministratorId,
    ) -> AppResult<Administrator> {
        administrators::find(conn, id.as_str())?
            .filter(|a| sees(caller, a))
            .ok_or_else(AppError::not_found)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Administrator>)> {
        let mut filter = administrators::Filter {
            brand: params.filter_id("brand")?,
            username: params.filter("username").map(str::to_string),
            role: params.filter_choice("role", &["platform", "brand", "client"])?,
            client: params.filter_id("client")?,
            active: params.filter_bool("active")?,
            ..Default::default()
        };
        match caller.role {
            Role::Platform => {}
            Role::Brand => {
                // Another brand named in the filter simply matches nothing.
                if filter.brand.is_some() && filter.brand != caller.brand_id {
                    filter.only_id = Some(String::new());
                }
                filter.brand = caller.brand_id.clone();
            }
            Role::Client => filter.only_id = Some(caller.id.clone()),
        }
        administrators::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])
    }

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: AdministratorInput,
    ) -> AppResult<Administrator> {
        Self::may_create(caller)?;
        let role = validate_fields(&input, true)?;
        let password_hash = hash(input.password.as_deref().unwrap_or_default())?;
        let (brand_id, client_id) = tenant_of(conn, caller, role, input.brand, input.client)?;
        let now = db::now();
        let row = Administrator {
            id: db::new_id(),
            username: input.username.trim().to_string(),
            password_hash,
            role: role.as_str().to_string(),
            brand_id,
            client_id,
            active: input.active.unwrap_or(true),
            timezone: input.timezone,
            created_at: now,
            updated_at: now,
            token_version: 0,
        };
        administrators::insert(conn, &row)?;
        Ok(row)
    }

    fn save(
        conn: &mut DbConnection,
        caller: &Caller,
        current: Administrator,
        input: AdministratorInput,
    ) -> AppResult<Administrator> {
        let role = validate_fields(&input, false)?;
        check_change(caller, &current, &input, role)?;
        let password_changed = input.password.is_some();
        let password_hash = match input.password.as_deref() {
            Some(plain) => hash(plain)?,
            None => current.password_hash.clone(),
        };
        let (brand_id, client_id) = if caller.role == Role::Client {
            (current.brand_id.clone(), current.client_id.clone())
        } else {
            tenant_of(conn, caller, role, input.brand, input.client)?
        };
        let row = Administrator {
            username: input.username.trim().to_string(),
            password_hash,
            role: role.as_str().to_string(),
            brand_id,
            client_id,
            active: input.active.unwrap_or(current.active),
            timezone: input.timezone,
            updated_at: db::now(),
            ..current
        };
        diesel::Connection::transaction(conn, |conn| {
            administrators::update(conn, &row)?;
            if password_changed {
                // Tokens issued before the change stop working (see `auth::caller`).
                administrators::revoke_tokens(conn, &row.id)?;
            }
            if password_changed || !row.active {
                // Their console sessions end now too (each request checks as well).
                db::ui_sessions::delete_of(conn, &row.id)?;
            }
            Ok::<_, AppError>(())
        })?;
        Ok(row)
    }

    fn remove(
        conn: &mut DbConnection,
        caller: &Caller,
        current: Administrator,
        _force: bool,
    ) -> AppResult<()> {
        caller.require(&[Role::Platform, Role::Brand])?;
        if current.id == caller.id {
            return Err(AppError::invalid_field("id", "you cannot delete yourself"));
        }
        if caller.role == Role::Brand && current.role == "platform" {
            return Err(AppError::not_found());
        }
        db::ui_sessions::delete_of(conn, &current.id)?;
        administrators::delete(conn, &current.id)?;
        Ok(())
    }
}

/// What a change may not do: a client administrator changes only its password and
/// timezone; nobody deactivates themselves or changes their own role.
fn check_change(
    caller: &Caller,
    current: &Administrator,
    input: &AdministratorInput,
    role: Role,
) -> AppResult<()> {
    let is_self = current.id == caller.id;
    if caller.role == Role::Client {
        let same = input.username.trim() == current.username
            && role.as_str() == current.role
            && input
                .brand
                .as_deref()
                .is_none_or(|b| Some(b) == current.brand_id.as_deref())
            && input
                .client
                .as_deref()
                .is_none_or(|c| Some(c) == current.client_id.as_deref())
            && input.active.unwrap_or(current.active) == current.active;
        if !same {
            return Err(AppError::forbidden(
                "a client administrator may change only its password and timezone",
            ));
        }
    }
    if is_self && input.active == Some(false) {
        return Err(AppError::invalid_field(
            "active",
            "you cannot deactivate yourself",
        ));
    }
    if is_self && role.as_str() != current.role {
        return Err(AppError::invalid_field(
            "role",
            "you cannot change your own role",
        ));
    }
    Ok(())
}
