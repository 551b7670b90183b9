//! The forms of rating plans (name, currency, rounding, zone; the rates are uploaded on the
//! plan's page) and rating profiles (which plan prices a client's or a carrier's calls,
//! from when): `RatingPlans` and `RatingProfiles`, the operations of `/rating_plans` and
//! `/rating_profiles`. Brand business: a client administrator hears the API's 403/404.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::rating::{RatingPlans, RatingProfiles};
use crate::tenancy::{Carriers, Clients};
use crate::ui::edit::{brand_field, fixed, pick, put, Edited, Field, Kind};
use crate::ui::schedulers::all;
use crate::ui::view;

impl Edited for RatingPlans {
    const PATH: &'static str = "rating_plans";
    const SECTION: &'static str = "rating";
    const NOUN: &'static str = "rating plan";
    // `/ui/rating_plans/{id}` is the plan's rate table.
    const EDIT_AT: &'static str = "/edit";
    const DELETE_NOTE: &'static str =
        "Its rates go with it. While a rating profile uses it, it cannot be deleted.";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("name", "Name", Kind::Text),
            Field::new("currency", "Currency (empty = the brand's)", Kind::Text)
                .help("An ISO 4217 code such as EUR."),
            Field::new(
                "roundingMethod",
                "Rounding (empty = up)",
                Kind::Select(fixed(&["up", "down", "middle"])),
            ),
            Field::new(
                "roundingDecimals",
                "Decimals kept (empty = 4)",
                Kind::Number,
            )
            .help("From 0 to 6."),
            Field::new("timezone", "Time zone (empty = the brand's)", Kind::Text)
                .help("The zone its time-of-day rates are read in, e.g. Europe/Madrid."),
        ]);
        Ok(f)
    }

    fn values(p: &Self::Object, _zone: Tz) -> BTreeMap<String, String> {
        let p = &p.plan;
        let mut v = BTreeMap::new();
        put(&mut v, "name", Some(&p.name));
        put(&mut v, "currency", Some(&p.currency));
        put(&mut v, "roundingMethod", Some(&p.rounding_method));
        v.insert("roundingDecimals".into(), p.rounding_decimals.to_string());
        put(&mut v, "timezone", Some(&p.timezone));
        v
    }

    fn title(p: &Self::Object) -> String {
        p.plan.name.clone()
    }

    fn page_of(id: &str) -> String {
        format!("/ui/rating_plans/{id}")
    }
}

impl Edited for RatingProfiles {
    const PATH: &'static str = "rating_profiles";
    const SECTION: &'static str = "rating";
    const NOUN: &'static str = "rating profile";
    const DELETE_NOTE: &'static str =
        "Calls already rated keep their price or cost; calls rated from now on use the profile in force before it, if any.";

    fn fields(
        conn: &mut DbConnection,
        caller: &Caller,
        _values: &BTreeMap<String, String>,
        creating: bool,
    ) -> AppResult<Vec<Field>> {
        let names = |v: Vec<(String, String)>| pick(v);
        let clients = names(
            all::<Clients>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        );
        let carriers = names(
            all::<Carriers>(conn, caller)?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        );
        let plans = names(
            all::<RatingPlans>(conn, caller)?
                .into_iter()
                .map(|p| (p.plan.id, format!("{} ({})", p.plan.name, p.plan.currency)))
                .collect(),
        );
        let mut f: Vec<Field> = brand_field(conn, caller, creating)?.into_iter().collect();
        f.extend([
            Field::new("client", "Client (its calls' price)", Kind::Select(clients)),
            Field::new(
                "carrier",
                "or carrier (its calls' cost)",
                Kind::Select(carriers),
            )
            .help("Choose a client or a carrier, not both."),
            Field::new("ratingPlan", "Rating plan", Kind::Select(plans)),
            Field::new("activationTime", "In force from", Kind::LocalTime)
                .help("In your time zone (shown at the top right)."),
        ]);
        Ok(f)
    }

    fn values(p: &Self::Object, zone: Tz) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        put(&mut v, "client", p.client_id.as_deref());
        put(&mut v, "carrier", p.carrier_id.as_deref());
        put(&mut v, "ratingPlan", Some(&p.rating_plan_id));
        v.insert(
            "activationTime".into(),
            view::local_input(p.activation_time, zone),
        );
        v
    }

    fn title(p: &Self::Object) -> String {
        format!("from {} UTC", p.activation_time.format("%Y-%m-%d %H:%M"))
    }
}
