//! The shape every resource's operations share, written once: a domain module implements
//! [`Resource`] (find the visible object, list, create, save a change, remove) and gets
//! `update` / `replace` / `delete` with the rules applied in the same order for every
//! front door. See `tenancy` for the pattern in full.

use crate::auth::Caller;
use crate::config::Config;
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::ids::Id;
use crate::listing::ListParams;

/// The operations of one kind of object. Every method applies the validation, tenancy and
/// visibility rules itself: a front door only parses its request, calls one operation
/// and renders what comes back.
pub trait Resource {
    type Id: Id;
    /// The domain object (what the database holds).
    type Object: Clone + Send + 'static;
    /// What create and replace take.
    type Input: Send + 'static;

    /// The filters a list accepts and the fields it may be ordered by.
    const FILTERS: &'static [&'static str];
    const ORDER: &'static [&'static str];

    /// The filters this caller may use (some are the brand's business only).
    fn filters(_caller: &Caller) -> &'static [&'static str] {
        Self::FILTERS
    }

    fn id_of(object: &Self::Object) -> &str;

    /// The object, if the caller may see it; a 404 otherwise (also for other tenants', so
    /// their existence is never revealed).
    fn find(conn: &mut DbConnection, caller: &Caller, id: &Self::Id) -> AppResult<Self::Object>;

    /// A page of what the caller may see, narrowed by `params`' filters; with the total.
    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Self::Object>)>;

    fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        input: Self::Input,
    ) -> AppResult<Self::Object>;

    /// Writes `input` over `current`, which `update` found visible and `may_change` let
    /// through. Call it through `update` or `replace`.
    fn save(
        conn: &mut DbConnection,
        caller: &Caller,
        current: Self::Object,
        input: Self::Input,
    ) -> AppResult<Self::Object>;

    /// Deletes `current` (found visible, `may_change` let through); `force` takes what
    /// hangs below it along where the resource allows that.
    fn remove(
        conn: &mut DbConnection,
        caller: &Caller,
        current: Self::Object,
        force: bool,
    ) -> AppResult<()>;

    // The checks that need neither the input nor the database (roles). They run before
    // the input is read, so a caller without the right hears 403 whatever it sent.

    fn may_list(_caller: &Caller) -> AppResult<()> {
        Ok(())
    }

    fn may_create(_caller: &Caller) -> AppResult<()> {
        Ok(())
    }

    fn may_change(_caller: &Caller, _current: &Self::Object) -> AppResult<()> {
        Ok(())
    }

    /// The input completed with what it takes from the service's settings rather than
    /// from the caller (by default nothing); every front door applies it to what it read.
    fn with_config(input: Self::Input, _config: &Config) -> Self::Input {
        input
    }

    /// Creates from an input read only once the caller's role may create.
    fn create_from(
        conn: &mut DbConnection,
        caller: &Caller,
        read: impl FnOnce() -> AppResult<Self::Input>,
    ) -> AppResult<Self::Object> {
        Self::may_create(caller)?;
        Self::create(conn, caller, read()?)
    }

    /// Changes the object: finds it visible, checks the caller may change it, then builds
    /// the input from the current object (a merge patch does, a replacement ignores it)
    /// and saves it.
    fn update(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &Self::Id,
        read: impl FnOnce(&Self::Object) -> AppResult<Self::Input>,
    ) -> AppResult<Self::Object> {
        let current = Self::find(conn, caller, id)?;
        Self::may_change(caller, &current)?;
        let input = read(&current)?;
        Self::save(conn, caller, current, input)
    }

    fn replace(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &Self::Id,
        input: Self::Input,
    ) -> AppResult<Self::Object> {
        Self::update(conn, caller, id, |_| Ok(input))
    }

    fn delete(
        conn: &mut DbConnection,
        caller: &Caller,
        id: &Self::Id,
        force: bool,
    ) -> AppResult<()> {
        let current = Self::find(conn, caller, id)?;
        Self::may_change(caller, &current)?;
        Self::remove(conn, caller, current, force)
    }
}

/// What the operations' unit tests share: a migrated SQLite database in a temp file, and
/// callers of each role.
#[cfg(test)]
pub mod testing {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    use crate::auth::{Caller, Role};
    use crate::db::{self, brands::Brand, DbConnection};
    use crate::ids::{BrandId, Id};

    /// A fresh database; keep the directory alive as long as the connection.
    pub fn database() -> (tempfile::TempDir, DbConnection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ops.db");
        let mut conn = DbConnection::Sqlite(
            SqliteConnection::establish(&path.to_string_lossy()).expect("sqlite opens"),
        );
        conn.batch_execute("PRAGMA foreign_keys = ON;")
            .expect("foreign keys on");
        db::run_migrations(&mut conn).expect("migrations");
        (dir, conn)
    }

    pub fn caller(role: Role, brand: Option<&BrandId>, client: Option<&str>) -> Caller {
        Caller {
            id: db::new_id(),
            username: format!("{}-admin", role.as_str()),
            role,
            brand_id: brand.map(|b| b.to_string()),
            client_id: client.map(str::to_string),
        }
    }

    pub fn platform() -> Caller {
        caller(Role::Platform, None, None)
    }

    pub fn operator_of(brand: &BrandId) -> Caller {
        caller(Role::Brand, Some(brand), None)
    }

    /// A brand stored directly (the brand operations have their own tests).
    pub fn brand(conn: &mut DbConnection, name: &str) -> BrandId {
        let id = BrandId::generate();
        let now = db::now();
        let row = Brand {
            id: id.to_string(),
            name: name.into(),
            timezone: "Europe/Madrid".into(),
            language: "es".into(),
            currency: "EUR".into(),
            email: None,
            created_at: now,
            updated_at: now,
            country: None,
        };
        db::brands::insert(conn, &row).expect("brand stored");
        id
    }
}
