//! The demo's rating plans, made from the destination table: two carrier cost plans and
//! four client price plans. Spanish destinations have peak, off-peak and weekend rows
//! (time of day in the plan's time zone); the retail plan bills the first minute whole
//! and then per second (two `groupIntervalStart` slots); premium ranges carry a connect
//! fee; freephone costs nothing.

use rust_decimal::Decimal;
use serde::Serialize;

use super::destinations::{Destination, Zone, DESTINATIONS};

/// One rate row as the rates API takes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RateSpec {
    pub prefix: String,
    pub destination_name: String,
    pub connect_fee: String,
    pub rate: String,
    pub rate_unit: u32,
    pub rate_increment: u32,
    pub group_interval_start: u32,
    pub weekdays: String,
    pub time_in: String,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// What a carrier charges: `factor` per zone (domestic, Europe, world), per second.
    Cost([&'static str; 3]),
    /// A business price list: markup, Spanish peak/off-peak/weekend.
    Business(&'static str),
    /// A consumer price list: first minute whole, connect fee on mobiles and abroad.
    Retail,
    /// Cost plus a fixed margin, per second.
    Wholesale,
}

pub struct PlanSpec {
    pub name: &'static str,
    pub rounding_method: &'static str,
    kind: Kind,
}

pub const PLANS: &[PlanSpec] = &[
    PlanSpec {
        name: "Iberia Transit cost",
        rounding_method: "middle",
        kind: Kind::Cost(["1", "1", "1.15"]),
    },
    PlanSpec {
        name: "Globalink Voice cost",
        rounding_method: "middle",
        kind: Kind::Cost(["1.2", "1.1", "0.92"]),
    },
    PlanSpec {
        name: "Business 2026",
        rounding_method: "up",
        kind: Kind::Business("1"),
    },
    PlanSpec {
        name: "Retail 2026",
        rounding_method: "up",
        kind: Kind::Retail,
    },
    PlanSpec {
        name: "Wholesale cost plus 8%",
        rounding_method: "up",
        kind: Kind::Wholesale,
    },
    PlanSpec {
        name: "Business 2026 loyalty",
        rounding_method: "up",
        kind: Kind::Business("0.9"),
    },
];

fn dec(text: &str) -> Decimal {
    text.parse().expect("demo tables hold decimals")
}

/// Four decimals, the way the rates API shows amounts.
fn money(amount: Decimal) -> String {
    format!("{:.4}", amount.round_dp(4))
}

/// The (weekdays, timeIn, factor) rows of a destination's day: Spanish numbers have peak
/// hours on working days; everything else one row for the whole week.
fn time_bands(d: &Destination) -> &'static [(&'static str, &'static str, &'static str)] {
    if d.zone() == Zone::Domestic && !d.is_freephone() {
        &[
            ("1-5", "00:00:00", "0.6"),
            ("1-5", "08:00:00", "1"),
            ("1-5", "20:00:00", "0.6"),
            ("6,7", "00:00:00", "0.5"),
        ]
    } else {
        &[("all", "00:00:00", "1")]
    }
}

fn row(
    d: &Destination,
    fee: Decimal,
    rate: Decimal,
    inc: u32,
    gis: u32,
    band: (&str, &str),
) -> RateSpec {
    RateSpec {
        prefix: format!("+{}", d.prefix),
        destination_name: d.name.to_string(),
        connect_fee: money(fee),
        rate: money(rate),
        rate_unit: 60,
        rate_increment: inc,
        group_interval_start: gis,
        weekdays: band.0.to_string(),
        time_in: band.1.to_string(),
    }
}

/// Every rate row of a plan.
pub fn rates(plan: &PlanSpec) -> Vec<RateSpec> {
    let mut rows = Vec::new();
    for d in DESTINATIONS {
        let cost = dec(d.cost);
        let special_fee = if d.is_special() {
            dec("0.10")
        } else {
            Decimal::ZERO
        };
        match plan.kind {
            Kind::Cost(factors) => {
                let factor = match d.zone() {
                    Zone::Domestic => factors[0],
                    Zone::Europe => factors[1],
                    Zone::World => factors[2],
                };
                rows.push(row(
                    d,
                    Decimal::ZERO,
                    cost * dec(factor),
                    1,
                    0,
                    ("all", "00:00:00"),
                ));
            }
            Kind::Business(discount) => {
                let price = (cost * dec("1.5") + dec("0.004")) * dec(discount);
                for (days, time, factor) in time_bands(d) {
                    let rate = if d.is_freephone() {
                        Decimal::ZERO
                    } else {
                        price * dec(factor)
                    };
                    rows.push(row(d, special_fee, rate, 1, 0, (days, time)));
                }
            }
            Kind::Retail => {
                let price = cost * dec("2") + dec("0.01");
                let fee = match (d.is_freephone(), d.zone(), d.name.ends_with("mobile")) {
                    (true, _, _) => Decimal::ZERO,
                    (_, Zone::Domestic, false) => special_fee,
                    _ => special_fee + dec("0.015"),
                };
                for (days, time, factor) in time_bands(d) {
                    let rate = if d.is_freephone() {
                        Decimal::ZERO
                    } else {
                        price * dec(factor)
                    };
                    rows.push(row(d, fee, rate, 60, 0, (days, time)));
                    rows.push(row(d, fee, rate, 1, 60, (days, time)));
                }
            }
            Kind::Wholesale => {
                rows.push(row(
                    d,
                    Decimal::ZERO,
                    cost * dec("1.08"),
                    1,
                    0,
                    ("all", "00:00:00"),
                ));
            }
        }
    }
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rating::{Plan, PlanSettings, RawRateRow, RoundingMethod};

    pub(crate) fn built(plan: &PlanSpec) -> Plan {
        let rows = rates(plan)
            .into_iter()
            .map(|r| {
                let raw: RawRateRow = serde_json::from_value(serde_json::json!({
                    "prefix": r.prefix, "destinationName": r.destination_name,
                    "connectFee": r.connect_fee, "rate": r.rate,
                    "rateUnit": r.rate_unit.to_string(), "rateIncrement": r.rate_increment.to_string(),
                    "groupIntervalStart": r.group_interval_start.to_string(),
                    "weekdays": r.weekdays, "timeIn": r.time_in,
                }))
                .unwrap();
                raw.validate().unwrap()
            })
            .collect();
        let settings = PlanSettings {
            rounding_method: plan.rounding_method.parse::<RoundingMethod>().unwrap(),
            rounding_decimals: 4,
            timezone: chrono_tz::Europe::Madrid,
        };
        Plan::new(settings, rows).unwrap()
    }

    #[test]
    fn every_plan_is_valid_and_covers_every_destination() {
        for plan in PLANS {
            let index = built(plan);
            assert_eq!(
                index.destination_count(),
                DESTINATIONS.len(),
                "{}",
                plan.name
            );
        }
    }

    #[test]
    fn spanish_peak_hours_cost_more_than_nights_and_weekends() {
        let plan = built(&PLANS[2]);
        let at = |t: &str| {
            let start = chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
            plan.charge("+34912345678", start, 60).unwrap().amount
        };
        // Tuesday 2026-11-24: 10:00 and 22:00 in Madrid (UTC+1); Saturday 28th at noon.
        let peak = at("2026-11-24T09:00:00Z");
        let night = at("2026-11-24T21:00:00Z");
        let weekend = at("2026-11-28T11:00:00Z");
        assert!(peak > night && night > weekend, "{peak} {night} {weekend}");
    }

    #[test]
    fn retail_bills_the_first_minute_whole() {
        let plan = built(&PLANS[3]);
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z")
            .unwrap()
            .to_utc();
        let ten = plan.charge("+34612345678", start, 10).unwrap().amount;
        let sixty = plan.charge("+34612345678", start, 60).unwrap().amount;
        assert_eq!(ten, sixty);
        assert!(plan.charge("+34612345678", start, 61).unwrap().amount > sixty);
    }
}
