//! Queries on `administrators` (the people who log in).

use diesel::prelude::*;

use crate::db::schema::administrators;
use crate::db::DbConnection;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = administrators, treat_none_as_null = true)]
pub struct Administrator {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub brand_id: Option<String>,
    pub client_id: Option<String>,
    pub active: bool,
    pub timezone: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
    /// The version tokens must carry; changed only by [`revoke_tokens`], never written
    /// back from a (possibly stale) row.
    #[diesel(skip_update)]
    pub token_version: i64,
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Administrator>> {
    Ok(administrators::table
        .find(id)
        .select(Administrator::as_select())
        .first(conn)
        .optional()?)
}

/// The administrator if it exists and is active (what every authenticated request checks).
pub fn find_active(conn: &mut DbConnection, id: &str) -> AppResult<Option<Administrator>> {
    Ok(find(conn, id)?.filter(|a| a.active))
}

pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> AppResult<Option<Administrator>> {
    Ok(administrators::table
        .filter(administrators::username.eq(username))
        .select(Administrator::as_select())
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(administrators::table.count().get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, admin: &Administrator) -> AppResult<()> {
    diesel::insert_into(administrators::table)
        .values(admin)
        .execute(conn)
        .map_err(crate::error::unique(
            "an administrator with this username already exists",
        ))?;
    Ok(())
}

/// A new platform administrator (CLI and bootstrap).
pub fn create_platform(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
) -> AppResult<Administrator> {
    let now = crate::db::now();
    let admin = Administrator {
        id: crate::db::new_id(),
        username: username.to_string(),
        password_hash: crate::auth::password::hash(password)
            .map_err(crate::error::AppError::internal)?,
        role: "platform".into(),
        brand_id: None,
        client_id: None,
        active: true,
        timezone: None,
        created_at: now,
        updated_at: now,
        token_version: 0,
    };
    insert(conn, &admin)?;
    Ok(admin)
}

/// What a list may be narrowed to: the caller's tenant and the query's filters.
#[derive(Default)]
pub struct Filter {
    pub brand: Option<String>,
    pub only_id: Option<String>,
    pub username: Option<String>,
    pub role: Option<String>,
    pub client: Option<String>,
    pub active: Option<bool>,
}

fn filtered(f: &Filter) -> administrators::BoxedQuery<'_, crate::db::MultiBackend> {
    let mut query = administrators::table.into_boxed();
    if let Some(b) = &f.brand {
        query = query.filter(administrators::brand_id.eq(b));
    }
    if let Some(id) = &f.only_id {
        query = query.filter(administrators::id.eq(id));
    }
    if let Some(u) = &f.username {
        query = query.filter(administrators::username.eq(u));
    }
    if let Some(r) = &f.role {
        query = query.filter(administrators::role.eq(r));
    }
    if let Some(c) = &f.client {
        query = query.filter(administrators::client_id.eq(c));
    }
    if let Some(a) = f.active {
        query = query.filter(administrators::active.eq(a));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    params: &crate::listing::ListParams,
) -> AppResult<(i64, Vec<Administrator>)> {
    use crate::listing::Direction;
    let total = filtered(f).count().get_result(conn)?;
    let mut query = filtered(f);
    for (field, direction) in &params.order {
        query = match (field.as_str(), direction) {
            ("username", Direction::Asc) => query.then_order_by(administrators::username.asc()),
            ("username", Direction::Desc) => query.then_order_by(administrators::username.desc()),
            ("createdAt", Direction::Asc) => query.then_order_by(administrators::created_at.asc()),
            ("createdAt", Direction::Desc) => {
                query.then_order_by(administrators::created_at.desc())
            }
            _ => query,
        };
    }
    let rows = query
        .then_order_by(administrators::id.asc())
        .limit(params.per_page)
        .offset(params.offset())
        .select(Administrator::as_select())
        .load(conn)?;
    Ok((total, rows))
}

pub fn update(conn: &mut DbConnection, admin: &Administrator) -> AppResult<()> {
    diesel::update(administrators::table.find(&admin.id))
        .set(admin)
        .execute(conn)
        .map_err(crate::error::unique(
            "an administrator with this username already exists",
        ))?;
    Ok(())
}

/// Invalidates every token issued to the administrator so far (after a password change).
pub fn revoke_tokens(conn: &mut DbConnection, id: &str) -> AppResult<()> {
    diesel::update(administrators::table.find(id))
        .set(administrators::token_version.eq(administrators::token_version + 1))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::delete(administrators::table.find(id)).execute(conn)?)
}
