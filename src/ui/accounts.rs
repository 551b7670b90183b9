//! The forms of brands (platform administrators) and administrators (platform
//! administrators everybody, brand operators their brand's, a client administrator only
//! itself: password and time zone). `Brands` and `Administrators` are the operations of
//! `/brands` and `/administrators`; deactivating is an edit that unticks "Active", which
//! ends the administrator's sessions at once (the operation does).

use std::collections::{BTreeMap, HashMap};

use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::auth::{Caller, Role};
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::tenancy::{Administrators, Brands, Clients};
use crate::ui::edit::{fields_body, fixed, pick, put, Ctx, Edited, Field, Kind};
use crate::ui::schedulers::all;

impl Edited for Brands {
    const PATH: &'static str = "brands";
    const SECTION: &'static str = "brands";
    const NOUN: &'static str = "brand";
    const DELETE_NOTE: &'static str =
        "A brand can be deleted only while nothing was created under it (clients, carriers, DDI providers, templates, administrators, CDR sources).";

    fn fields(
        _conn: &mut DbConnection,
        _caller: &Caller,
        _values: &BTreeMap<String, String>,
        _creating: bool,
    ) -> AppResult<Vec<Field>> {
        Ok(vec![
            Field::new("name", "Name", Kind::Text),
            Field::new("timezone", "Time zone (empty = UTC)", Kind::Text)
                .help("An IANA name such as Europe/Madrid: its clients' default."),
            Field::new("language", "Language (empty = en)", Kind::Text)
                .help("A language tag such as es or en-GB: its report emails' default."),
            Field::new("currency", "Currency (empty = EUR)", Kind::Text)
                .help("An ISO 4217 code such as EUR or USD."),
            Field::new("email", "Sender address of its emails", Kind::Text),
            Field::new("country", "Home country", Kind::Text)
                .help("ISO code such as ES: numbers without a country code are read in it."),
        ])
    }

    fn values(b: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&b.name));
        put(&mut v, "timezone", Some(&b.timezone));
        put(&mut v, "language", Some(&b.language));
        put(&mut v, "currency", Some(&b.currency));
        put(&mut v, "email", b.email.as_deref());
        put(&mut v, "country", b.country.as_deref());
        v
    }

    fn title(b: &Self::Object) -> String {
        b.name.clone()
    }
}

/// The roles a caller may give.
fn roles(caller: &Caller) -> &'static [&'static str] {
    match caller.role {
        Role::Platform => &["platform", "brand", "client"],
        _ => &["brand", "client"],
    }
}

impl Edited for Administrators {
    const PATH: &'static str = "administrators";
    const SECTION: &'static str = "administrators";
    const NOUN: &'static str = "administrator";
    const DELETE_NOTE: &'static str =
        "Their sessions end at once. To keep the account but stop its use, untick “Active” in its form instead.";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let password = match creating {
            true => Field::new("password", "Password", Kind::Password),
            false => Field::new(
                "password",
                "New password (empty = keep the current one)",
                Kind::Password,
            ),
        }
        .help("At least 8 characters. A new password signs the administrator out everywhere.");
        let timezone = Field::new(
            "timezone",
            "Time zone (empty = the client's or brand's)",
            Kind::Text,
        )
        .help("An IANA name such as Europe/Madrid: the zone the console shows times in.");
        if caller.role == Role::Client {
            // Itself only, and only these two (the operation refuses the rest).
            return Ok(vec![password, timezone]);
        }
        let brands: HashMap<String, String> = all::<Brands>(conn, caller)?
            .into_iter()
            .map(|b| (b.id, b.name))
            .collect();
        let clients = all::<Clients>(conn, caller)?
            .into_iter()
            .map(|c| {
                let label = match caller.role {
                    Role::Platform => format!(
                        "{} / {}",
                        brands.get(&c.brand_id).cloned().unwrap_or_default(),
                        c.name
                    ),
                    _ => c.name,
                };
                (c.id, label)
            })
            .collect();
        let mut f = vec![
            Field::new("username", "User name", Kind::Text),
            password,
            Field::new("role", "Role", Kind::Select(fixed(roles(caller)))).help(
                match caller.role {
                    Role::Platform => "platform: everything; brand: one brand's operator; client: one client's administrator, who never sees cost.",
                    _ => "brand: an operator of the brand; client: one client's administrator, who never sees cost.",
                },
            ),
        ];
        if caller.role == Role::Platform {
            let mut brands: Vec<(String, String)> = brands.into_iter().collect();
            brands.sort_by(|a, b| a.1.cmp(&b.1));
            f.push(Field::new(
                "brand",
                "Brand (of a brand operator)",
                Kind::Select(pick(brands)),
            ));
        }
        f.extend([
            Field::new(
                "client",
                "Client (of a client administrator)",
                Kind::Select(pick(clients)),
            ),
            Field::new("active", "Active (may sign in)", Kind::Check),
            timezone,
        ]);
        Ok(f)
    }

    fn values(a: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "username", Some(&a.username));
        put(&mut v, "role", Some(&a.role));
        put(&mut v, "brand", a.brand_id.as_deref());
        put(&mut v, "client", a.client_id.as_deref());
        put(&mut v, "active", a.active.then_some("on"));
        put(&mut v, "timezone", a.timezone.as_deref());
        v
    }

    fn defaults() -> BTreeMap<String, String> {
        BTreeMap::from([("active".to_string(), "on".to_string())])
    }

    fn title(a: &Self::Object) -> String {
        a.username.clone()
    }

    /// Only the tenant the chosen role has is sent (a brand for a brand operator, a client
    /// for a client administrator), so a select left from another role does not count; a
    /// client administrator's own form sends back what it may not change.
    fn body(
        fields: &[Field],
        form: &BTreeMap<String, String>,
        ctx: &Ctx<'_, Self::Object>,
    ) -> AppResult<Map<String, Value>> {
        let mut body = fields_body(fields, form, ctx.zone)?;
        if let (Role::Client, Some(me)) = (ctx.caller.role, ctx.current) {
            body.insert("username".into(), me.username.clone().into());
            body.insert("role".into(), me.role.clone().into());
            body.remove("active");
        }
        let role = body
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if role != "brand" {
            body.remove("brand");
        }
        if role != "client" {
            body.remove("client");
        }
        Ok(body)
    }
}
