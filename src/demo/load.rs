//! Loads the demo tenant into the configured database, through the same doors as
//! everything else: the platform administrator as `callcsv admin create` makes it; the
//! tenancy, rating plans and their rates, rating profiles, the client administrator and
//! the schedulers through their operations (`tenancy::*`, `rating::*`, `schedulers`, each
//! given the body the API would get, as the API's handlers call them); the calls through
//! call ingestion (`calls::ingest`, what `POST /billable_calls` runs), in batches.
//! Nothing is written to a table directly.

use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::calls::{generate, CallSpec};
use super::plans::{rates, PLANS};
use super::world::*;
use crate::auth::{Caller, Role};
use crate::calls::ingest::{self, Summary};
use crate::calls::input::RawCall;
use crate::db::{self, DbConnection};
use crate::ids::{Id, RatingPlanId};
use crate::ops::Resource;
use crate::rating::import::Format;
use crate::rating::{RatingPlans, RatingProfiles};
use crate::schedulers::Schedulers;
use crate::tenancy::{Administrators, Brands, Carriers, Clients, DdiProviders, Ddis, Endpoints};
use crate::AppState;

/// What `callcsv demo` was asked for.
pub struct Options {
    pub brand: String,
    /// `None`: generate one and print it once.
    pub password: Option<String>,
    pub admin: String,
    pub calls: usize,
    pub days: u32,
}

/// What was made, for the closing message.
pub struct Loaded {
    pub brand_id: String,
    pub admin: String,
    /// The password to print: `None` when the administrator existed already.
    pub password: Option<String>,
    pub client_admin: String,
    pub client_admin_password: String,
    pub rates: usize,
    pub calls: Summary,
    pub detected: usize,
    pub inbound: usize,
    pub schedulers: usize,
    pub seconds: f64,
}

/// Refuses early, before anything is written, when the brand exists already.
pub fn brand_exists(conn: &mut DbConnection, name: &str) -> Result<bool, String> {
    use crate::db::schema::brands;
    let n: i64 = brands::table
        .filter(brands::name.eq(name))
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    Ok(n > 0)
}

/// A username made of the brand's name: lowercase letters, digits and dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "demo".into()
    } else {
        out
    }
}

/// Creates one object through its operation, from the body the API would take.
async fn create_object<R>(
    state: &AppState,
    caller: &Caller,
    body: Value,
) -> Result<R::Object, String>
where
    R: Resource + 'static,
    R::Input: serde::de::DeserializeOwned,
{
    let what = std::any::type_name::<R>()
        .rsplit("::")
        .next()
        .unwrap_or("object");
    let input: R::Input = serde_json::from_value(body).map_err(|e| format!("{what}: {e}"))?;
    let input = R::with_config(input, &state.config);
    let caller = caller.clone();
    db::run(&state.pool, move |conn| R::create(conn, &caller, input))
        .await
        .map_err(|e| format!("{what}: {} {:?}", e.message, e.fields))
}

/// Creates one object through its operation, from the body the API would take; its id.
async fn create<R>(state: &AppState, caller: &Caller, body: Value) -> Result<String, String>
where
    R: Resource + 'static,
    R::Input: serde::de::DeserializeOwned,
{
    let object = create_object::<R>(state, caller, body).await?;
    Ok(R::id_of(&object).to_string())
}

/// The next-to-last occurrence of `weekday`-aligned 08:00 local before `now`: a run due
/// already, so the first runner pass builds it.
fn due(tz: Tz, now: DateTime<Utc>, unit: &str) -> String {
    let today = now.with_timezone(&tz).date_naive();
    let mut day = match unit {
        "month" => today.with_day(1).expect("the 1st exists"),
        "week" => today - Duration::days(today.weekday().num_days_from_monday().into()),
        _ => today,
    };
    let at = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(8, 0, 0).expect("08:00"))
            .earliest()
            .expect("08:00 exists in demo time zones")
    };
    while at(day).to_utc() > now {
        day = match unit {
            "month" => {
                let back = day - Duration::days(1);
                back.with_day(1).expect("the 1st exists")
            }
            "week" => day - Duration::days(7),
            _ => day - Duration::days(1),
        };
    }
    at(day).to_rfc3339()
}

fn raw_call(c: &CallSpec, ids: &Ids) -> RawCall {
    let client = &ids.clients[c.client];
    let endpoint = c.endpoint.map(|e| &client.endpoints[e]);
    RawCall {
        callid: Some(c.callid.clone()),
        start_time: Some(c.start.to_rfc3339()),
        duration: Some(c.duration.to_string()),
        caller: Some(c.caller.clone()),
        callee: Some(c.callee.clone()),
        direction: Some(if c.outbound { "outbound" } else { "inbound" }.into()),
        // Detected inbound calls name no client: the DDI found says whose they are.
        client: (c.outbound || c.ddi.is_some()).then(|| client.id.clone()),
        carrier: c.carrier.map(|k| ids.carriers[k].clone()),
        ddi: c.ddi.map(|d| client.ddis[d].clone()),
        source_ip: c.source_ip.clone(),
        endpoint_id: endpoint.cloned(),
        ..RawCall::default()
    }
}

struct ClientIds {
    id: String,
    endpoints: Vec<String>,
    ddis: Vec<String>,
}

struct Ids {
    clients: Vec<ClientIds>,
    carriers: Vec<String>,
}

/// Creates the tenant and its calls. Blocking (it drives its own async runtime).
pub fn load(state: AppState, options: &Options) -> Result<Loaded, String> {
    actix_web::rt::System::new().block_on(load_async(state, options))
}

async fn load_async(state: AppState, options: &Options) -> Result<Loaded, String> {
    let started = Instant::now();
    let pool = state.pool.clone();
    let mut conn = pool.get().map_err(|e| format!("database: {e}"))?;
    if brand_exists(&mut conn, &options.brand)? {
        return Err(format!(
            "a brand named {:?} exists already: nothing was changed. Load the demo under \
             another name with `callcsv demo --brand NAME`, or use a fresh data dir / database.",
            options.brand
        ));
    }

    // The platform administrator: made as `callcsv admin create` makes it.
    let (admin, password) = match db::administrators::find_by_username(&mut conn, &options.admin)
        .map_err(|e| e.message)?
    {
        Some(existing) if existing.role == "platform" && existing.active => (existing, None),
        Some(_) => {
            return Err(format!(
                "an administrator named {:?} exists and is not an active platform \
                     administrator: choose another with --admin",
                options.admin
            ))
        }
        None => {
            let password = options
                .password
                .clone()
                .unwrap_or_else(|| crate::config::random_token(16));
            let created = db::administrators::create_platform(&mut conn, &options.admin, &password)
                .map_err(|e| e.message)?;
            (created, Some(password))
        }
    };
    drop(conn);
    let caller = Caller {
        id: admin.id.clone(),
        username: admin.username.clone(),
        role: Role::Platform,
        brand_id: None,
        client_id: None,
    };
    let state = &state;

    let brand = create::<Brands>(
        state,
        &caller,
        json!({"name": options.brand, "timezone": BRAND_TIMEZONE, "language": BRAND_LANGUAGE,
               "currency": BRAND_CURRENCY, "email": BRAND_EMAIL}),
    )
    .await?;

    let mut carriers = Vec::new();
    for (name, description) in CARRIERS {
        let body = json!({"brand": brand, "name": name, "description": description});
        carriers.push(create::<Carriers>(state, &caller, body).await?);
    }

    let mut providers = Vec::new();
    for p in PROVIDERS {
        let rules: Vec<Value> = p
            .rules
            .iter()
            .enumerate()
            .map(|(i, (m, r))| json!({"matchExpr": m, "replaceExpr": r, "priority": i + 1}))
            .collect();
        let body = json!({"brand": brand, "name": p.name, "description": p.description,
                          "addresses": p.addresses, "transformationRules": rules});
        providers.push(create::<DdiProviders>(state, &caller, body).await?);
    }

    let mut plans = Vec::new();
    let mut rate_count = 0;
    for plan in PLANS {
        let body = json!({"brand": brand, "name": plan.name, "roundingMethod": plan.rounding_method,
                          "roundingDecimals": 4});
        let id = create::<RatingPlans>(state, &caller, body).await?;
        let rows = rates(plan);
        rate_count += rows.len();
        let body = serde_json::to_vec(&rows).map_err(|e| format!("rates: {e}"))?;
        let (plan_id, importer) = (RatingPlanId::from_db(id.clone()), caller.clone());
        db::run(&pool, move |conn| {
            RatingPlans::import_rates(conn, &importer, &plan_id, body, Format::Json, false)
        })
        .await
        .map_err(|e| format!("rates of {}: {} {:?}", plan.name, e.message, e.fields))?;
        plans.push(id);
    }

    let tz: Tz = BRAND_TIMEZONE.parse().map_err(|e| format!("{e}"))?;
    let now = Utc::now();
    let end_day = now.with_timezone(&tz).date_naive();
    let first_day = end_day - Duration::days(options.days.into());
    let profiles_from = tz
        .from_local_datetime(
            &(first_day - Duration::days(PROFILE_LEAD_DAYS))
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        )
        .earliest()
        .expect("midnight exists in Madrid")
        .to_rfc3339();
    for (k, carrier) in carriers.iter().enumerate() {
        let body = json!({"brand": brand, "carrier": carrier, "ratingPlan": plans[k],
                          "activationTime": profiles_from});
        create::<RatingProfiles>(state, &caller, body).await?;
    }

    let mut clients = Vec::new();
    for (k, c) in CLIENTS.iter().enumerate() {
        let body = json!({"brand": brand, "name": c.name, "type": c.client_type,
                          "timezone": c.timezone, "showBillingDetails": true});
        let id = create::<Clients>(state, &caller, body).await?;
        let mut endpoints = Vec::new();
        for (kind, name) in c.endpoints {
            let body = json!({"client": id, "type": kind, "name": name});
            endpoints.push(create::<Endpoints>(state, &caller, body).await?);
        }
        let mut ddis = Vec::new();
        for (number, provider) in c.ddis {
            let body = json!({"brand": brand, "client": id, "ddiE164": number,
                              "ddiProvider": provider.map(|p| providers[p].clone())});
            ddis.push(create::<Ddis>(state, &caller, body).await?);
        }
        let body = json!({"brand": brand, "client": id, "ratingPlan": plans[c.plan],
                          "activationTime": profiles_from});
        create::<RatingProfiles>(state, &caller, body).await?;
        if k == LOYALTY_CLIENT {
            let from = tz
                .from_local_datetime(
                    &(end_day - Duration::days(LOYALTY_FROM_DAYS_AGO))
                        .and_hms_opt(0, 0, 0)
                        .expect("midnight"),
                )
                .earliest()
                .expect("midnight exists in Madrid")
                .to_rfc3339();
            let body = json!({"brand": brand, "client": id, "ratingPlan": plans[LOYALTY_PLAN],
                              "activationTime": from});
            create::<RatingProfiles>(state, &caller, body).await?;
        }
        clients.push(ClientIds {
            id,
            endpoints,
            ddis,
        });
    }

    // A client administrator, for the client's own scheduler (and to show what a client
    // sees). Its password is the platform administrator's when that one was made now.
    let client_admin = format!("{}-{CLIENT_ADMIN_SUFFIX}", slug(&options.brand));
    let client_admin_password = password
        .clone()
        .unwrap_or_else(|| crate::config::random_token(16));
    let body = json!({"username": client_admin, "password": client_admin_password,
                      "role": "client", "client": clients[0].id});
    let made = create_object::<Administrators>(state, &caller, body).await?;
    let client_caller = Caller {
        id: made.id,
        username: made.username,
        role: Role::Client,
        brand_id: made.brand_id,
        client_id: made.client_id,
    };

    for s in SCHEDULERS {
        let (who, zone) = match s.client {
            Some(c) => (&client_caller, CLIENTS[c].timezone),
            None => (&caller, BRAND_TIMEZONE),
        };
        let zone: Tz = zone.parse().map_err(|e| format!("{e}"))?;
        let mut body = json!({"brand": brand, "name": s.name, "unit": s.unit,
                              "callDirection": s.direction, "nextExecution": due(zone, now, s.unit)});
        if let Some(email) = s.email {
            body["email"] = json!(email);
        }
        create::<Schedulers>(state, who, body).await?;
    }

    // The calls, through ingestion as POST /billable_calls runs it, in batches.
    let ids = Ids { clients, carriers };
    let calls = generate(super::SEED, options.calls, end_day, options.days);
    let inbound = calls.iter().filter(|c| !c.outbound).count();
    let detected = calls.iter().filter(|c| c.source_ip.is_some()).count();
    let mut summary = Summary::default();
    for batch in calls.chunks(BATCH) {
        let rows: Vec<RawCall> = batch.iter().map(|c| raw_call(c, &ids)).collect();
        let (brand, plans) = (brand.clone(), state.plans.clone());
        let part = db::run(&pool, move |conn| {
            ingest::ingest(conn, &plans, &brand, rows)
        })
        .await
        .map_err(|e| format!("calls: {}", e.message))?;
        if let Some(first) = part.errors.first() {
            return Err(format!(
                "calls: {} of a batch rejected, first: {}",
                part.rejected, first.message
            ));
        }
        summary.accepted += part.accepted;
        summary.duplicates += part.duplicates;
        summary.unrated += part.unrated;
    }

    Ok(Loaded {
        brand_id: brand,
        admin: admin.username,
        password,
        client_admin,
        client_admin_password,
        rates: rate_count,
        calls: summary,
        detected,
        inbound,
        schedulers: SCHEDULERS.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Calls per ingestion: what one POST of a switch's hourly export might hold.
const BATCH: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::{due, slug};
    use chrono::{TimeZone, Utc};
    use chrono_tz::Tz;

    #[test]
    fn usernames_from_brand_names() {
        assert_eq!(slug("Demo"), "demo");
        assert_eq!(slug("Acme Telecom, S.L."), "acme-telecom-s-l");
        assert_eq!(slug("¡¡!!"), "demo");
    }

    #[test]
    fn due_times_are_past_and_aligned() {
        let tz: Tz = "Europe/Madrid".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap();
        assert_eq!(due(tz, now, "month"), "2026-11-01T08:00:00+01:00");
        assert_eq!(due(tz, now, "week"), "2026-11-30T08:00:00+01:00");
        assert_eq!(due(tz, now, "day"), "2026-11-30T08:00:00+01:00");
        let early = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap();
        assert_eq!(due(tz, early, "month"), "2026-11-01T08:00:00+01:00");
        assert_eq!(due(tz, early, "week"), "2026-11-30T08:00:00+01:00");
        let monday_early = Utc.with_ymd_and_hms(2026, 11, 30, 6, 0, 0).unwrap();
        assert_eq!(due(tz, monday_early, "week"), "2026-11-23T08:00:00+01:00");
        assert_eq!(due(tz, early, "day"), "2026-11-30T08:00:00+01:00");
    }
}
