//! The shape of the demo's calls: spread over the last days with each client's habits
//! (office hours with a lunch dip, evenings at home, a call shop's long international
//! calls, a wholesale trunk busy around the clock), quieter weekends, a destination mix
//! led by Spanish fixed and mobile numbers, log-normal durations, a few calls to a
//! destination no plan rates, and inbound calls delivered by the DDI providers in their
//! national formats (so ingestion detects their DDI). Seeded: same inputs, same calls.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::destinations::{Destination, Zone, DESTINATIONS, UNRATED_PREFIX};
use super::world::{provider_source, Habit, CLIENTS, PROVIDERS};

/// One call, referring to the world's objects by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSpec {
    pub callid: String,
    pub start: DateTime<Utc>,
    /// Whole seconds.
    pub duration: u32,
    pub client: usize,
    pub outbound: bool,
    pub caller: String,
    pub callee: String,
    /// Outbound: the carrier (position in `CARRIERS`).
    pub carrier: Option<usize>,
    /// Position in the client's endpoints.
    pub endpoint: Option<usize>,
    /// Inbound with the DDI named (position in the client's DDIs); otherwise detected.
    pub ddi: Option<usize>,
    /// Inbound delivered by a provider: where the INVITE came from, for detection.
    pub source_ip: Option<String>,
}

/// Relative call volume per hour of the local day.
fn hours(habit: Habit) -> [u32; 24] {
    match habit {
        Habit::Office => [
            1, 1, 1, 1, 1, 2, 4, 12, 40, 70, 80, 78, 60, 32, 30, 55, 62, 55, 34, 14, 7, 4, 2, 1,
        ],
        Habit::Home => [
            2, 1, 1, 1, 1, 1, 2, 5, 8, 10, 14, 16, 18, 20, 16, 12, 12, 15, 22, 30, 34, 28, 14, 5,
        ],
        Habit::Shop => [
            0, 0, 0, 0, 0, 0, 0, 0, 2, 10, 20, 26, 28, 25, 22, 24, 28, 32, 36, 38, 34, 24, 6, 1,
        ],
        Habit::Trunk => [
            8, 5, 4, 4, 4, 6, 10, 25, 50, 65, 70, 70, 62, 48, 45, 58, 62, 58, 45, 32, 24, 18, 14,
            10,
        ],
    }
}

/// Relative call volume per ISO weekday (Monday first).
fn weekdays(habit: Habit) -> [f64; 7] {
    match habit {
        Habit::Office => [1.0, 1.05, 1.0, 1.0, 0.85, 0.12, 0.06],
        Habit::Home => [0.8, 0.8, 0.8, 0.8, 0.9, 1.3, 1.3],
        Habit::Shop => [0.9, 0.9, 0.9, 1.0, 1.1, 1.3, 0.6],
        Habit::Trunk => [1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.35],
    }
}

/// Median call length in seconds, outbound.
fn median_seconds(habit: Habit) -> f64 {
    match habit {
        Habit::Office => 75.0,
        Habit::Home => 150.0,
        Habit::Shop => 260.0,
        Habit::Trunk => 95.0,
    }
}

/// How much more (or less) a habit calls each zone than the table's weights say.
fn zone_bias(habit: Habit, zone: Zone) -> f64 {
    match (habit, zone) {
        (Habit::Shop, Zone::Domestic) => 0.15,
        (Habit::Shop, Zone::World) => 12.0,
        (Habit::Shop, Zone::Europe) => 2.0,
        (Habit::Home, Zone::World) => 0.8,
        (Habit::Trunk, Zone::World) => 1.5,
        (Habit::Office, Zone::World) => 0.5,
        _ => 1.0,
    }
}

fn weighted(weights: impl IntoIterator<Item = f64>) -> WeightedIndex<f64> {
    WeightedIndex::new(weights).expect("demo weights are positive")
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A full E.164 number in a destination.
fn number_in(rng: &mut StdRng, d: &Destination) -> String {
    format!(
        "+{}{}",
        d.prefix,
        digits(rng, d.number_length() - d.prefix.len())
    )
}

/// Someone calling in: mostly Spanish mobiles and landlines, some from abroad.
fn outside_caller(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0..=4 => format!("+346{}", digits(rng, 8)),
        5..=8 => format!("+349{}", digits(rng, 8)),
        _ => format!("+44{}", digits(rng, 10)),
    }
}

/// A local instant for `day` at `seconds` into the local day, shifted past a gap when the
/// clocks go forward.
fn local_instant(tz: Tz, day: NaiveDate, seconds: u32) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).expect("midnight") + Duration::seconds(seconds.into());
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.to_utc(),
        None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .expect("one hour later is past the gap")
            .to_utc(),
    }
}

/// `count` calls on the `days` local days before `end_day` (each client's own local days).
pub fn generate(seed: u64, count: usize, end_day: NaiveDate, days: u32) -> Vec<CallSpec> {
    let mut rng = StdRng::seed_from_u64(seed);
    let clients = weighted(CLIENTS.iter().map(|c| f64::from(c.share)));
    let first_day = end_day - Duration::days(days.into());
    let day_pickers: Vec<WeightedIndex<f64>> = CLIENTS
        .iter()
        .map(|c| {
            weighted((0..days).map(|i| {
                let day = first_day + Duration::days(i.into());
                let weekday = weekdays(c.habit)[day.weekday().num_days_from_monday() as usize];
                // A business that grows a little over the period.
                weekday * (0.85 + 0.3 * f64::from(i) / f64::from(days))
            }))
        })
        .collect();
    let hour_pickers: Vec<WeightedIndex<f64>> = CLIENTS
        .iter()
        .map(|c| weighted(hours(c.habit).iter().map(|&h| f64::from(h) + 0.01)))
        .collect();
    let destination_pickers: Vec<WeightedIndex<f64>> = CLIENTS
        .iter()
        .map(|c| {
            weighted(
                DESTINATIONS
                    .iter()
                    .map(|d| (f64::from(d.weight) + 0.02) * zone_bias(c.habit, d.zone())),
            )
        })
        .collect();
    let unrated = Destination {
        prefix: UNRATED_PREFIX,
        name: "Iridium",
        cost: "0",
        weight: 0,
    };

    let mut calls = Vec::with_capacity(count);
    for n in 0..count {
        let client = clients.sample(&mut rng);
        let spec = &CLIENTS[client];
        let tz_client: Tz = spec.timezone.parse().expect("demo time zones are valid");
        let day = first_day + Duration::days(day_pickers[client].sample(&mut rng) as i64);
        let hour = hour_pickers[client].sample(&mut rng) as u32;
        let start = local_instant(tz_client, day, hour * 3600 + rng.random_range(0..3600));
        let callid = format!(
            "{:016x}-{n:06}@sbc.demo-telecom.example",
            rng.random::<u64>()
        );
        let inbound = !spec.ddis.is_empty() && rng.random_range(0..100) < spec.inbound_percent;
        // Log-normal around the habit's median; a few calls answered and dropped at once.
        let mut duration = (median_seconds(spec.habit) * (1.05 * normal(&mut rng)).exp())
            .clamp(1.0, 7200.0) as u32;
        if rng.random_range(0..100) < 3 {
            duration = 0;
        }
        let endpoint =
            (!spec.endpoints.is_empty()).then(|| rng.random_range(0..spec.endpoints.len()));
        let mut call = CallSpec {
            callid,
            start,
            duration,
            client,
            outbound: !inbound,
            caller: String::new(),
            callee: String::new(),
            carrier: None,
            endpoint,
            ddi: None,
            source_ip: None,
        };
        if inbound {
            let ddi = rng.random_range(0..spec.ddis.len());
            let (number, linked) = spec.ddis[ddi];
            call.caller = outside_caller(&mut rng);
            call.duration = call.duration.min(3600);
            if rng.random_range(0..100) < 75 {
                // Delivered by a provider in its own format: ingestion detects the DDI.
                let provider = linked.unwrap_or(0);
                call.source_ip = Some(provider_source(provider, n as u64));
                call.callee = (PROVIDERS[provider].national_format)(number);
            } else {
                call.ddi = Some(ddi);
                call.callee = number.to_string();
            }
        } else {
            let destination = if rng.random_range(0..1000) < 2 {
                &unrated
            } else {
                &DESTINATIONS[destination_pickers[client].sample(&mut rng)]
            };
            call.callee = number_in(&mut rng, destination);
            call.caller = match spec.ddis.len() {
                0 => format!("+349{}", digits(&mut rng, 8)),
                k => spec.ddis[rng.random_range(0..k)].0.to_string(),
            };
            let usual = usize::from(destination.zone() == Zone::World);
            call.carrier = Some(if rng.random_range(0..100) < 8 {
                1 - usual
            } else {
                usual
            });
        }
        calls.push(call);
    }
    calls.sort_by(|a, b| (a.start, &a.callid).cmp(&(b.start, &b.callid)));
    calls
}

/// Is `day` a Saturday or Sunday?
pub fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use std::collections::HashSet;

    fn sample() -> Vec<CallSpec> {
        let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        generate(7, 20_000, end, 90)
    }

    #[test]
    fn same_seed_same_calls_and_callids_are_unique() {
        let calls = sample();
        assert_eq!(calls.len(), 20_000);
        assert_eq!(calls, sample());
        let ids: HashSet<&str> = calls.iter().map(|c| c.callid.as_str()).collect();
        assert_eq!(ids.len(), calls.len());
        let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let other = generate(8, 100, end, 90);
        assert_ne!(other[..], calls[..100]);
    }

    #[test]
    fn calls_fall_in_the_period_busier_on_working_days_and_hours() {
        let calls = sample();
        let madrid = chrono_tz::Europe::Madrid;
        let first = madrid
            .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
            .unwrap()
            .to_utc();
        let end = madrid
            .with_ymd_and_hms(2026, 11, 30, 0, 0, 0)
            .unwrap()
            .to_utc();
        // Canary time is an hour behind Madrid: its first and last local days reach an
        // hour further.
        assert!(calls
            .iter()
            .all(|c| c.start >= first - Duration::hours(1) && c.start < end + Duration::hours(1)));
        let local = |c: &CallSpec| c.start.with_timezone(&madrid);
        let weekend = calls
            .iter()
            .filter(|c| is_weekend(local(c).date_naive()))
            .count();
        // 26 weekend days against 64 working days: per day, weekends are much quieter.
        let per_weekend_day = weekend as f64 / 26.0;
        let per_working_day = (calls.len() - weekend) as f64 / 64.0;
        assert!(
            per_working_day > 2.0 * per_weekend_day,
            "{per_working_day} {per_weekend_day}"
        );
        let office: Vec<_> = calls.iter().filter(|c| c.client == 0).collect();
        let in_hours = office
            .iter()
            .filter(|c| (8..19).contains(&local(c).hour()))
            .count();
        assert!(
            in_hours * 10 > office.len() * 8,
            "{in_hours} of {}",
            office.len()
        );
    }

    #[test]
    fn durations_destinations_and_directions_look_real() {
        let calls = sample();
        let mut durations: Vec<u32> = calls.iter().map(|c| c.duration).collect();
        durations.sort();
        let median = durations[durations.len() / 2];
        assert!((60..200).contains(&median), "median {median}");
        assert!(*durations.last().unwrap() > 1800);
        let zero = durations.iter().filter(|d| **d == 0).count();
        assert!(zero > 100 && zero < 2000, "{zero}");

        let outbound: Vec<_> = calls.iter().filter(|c| c.outbound).collect();
        let spain = outbound
            .iter()
            .filter(|c| c.callee.starts_with("+34"))
            .count();
        assert!(spain * 2 > outbound.len(), "{spain} of {}", outbound.len());
        let abroad: HashSet<&str> = outbound
            .iter()
            .filter(|c| !c.callee.starts_with("+34"))
            .map(|c| &c.callee[..4])
            .collect();
        assert!(abroad.len() > 40, "{}", abroad.len());
        let unrated = outbound
            .iter()
            .filter(|c| c.callee.starts_with("+8816"))
            .count();
        assert!((5..200).contains(&unrated), "{unrated}");
        assert!(outbound
            .iter()
            .all(|c| c.carrier.is_some() && c.source_ip.is_none()));

        let inbound: Vec<_> = calls.iter().filter(|c| !c.outbound).collect();
        assert!(inbound.len() > 2000, "{}", inbound.len());
        let detected = inbound.iter().filter(|c| c.source_ip.is_some()).count();
        assert!(detected > inbound.len() / 2 && detected < inbound.len());
        assert!(inbound.iter().all(|c| c.carrier.is_none()));
        assert!(inbound
            .iter()
            .all(|c| c.source_ip.is_some() != c.ddi.is_some()));
    }

    /// Rated with the plans of the demo's profiles, every outbound call has a price but
    /// the few sent to the unrated satellite prefix.
    #[test]
    fn every_call_but_the_satellite_ones_is_priced() {
        let plans: Vec<_> = super::super::plans::PLANS
            .iter()
            .map(super::super::plans::tests::built)
            .collect();
        for c in sample().iter().filter(|c| c.outbound) {
            let plan = &plans[CLIENTS[c.client].plan];
            let charged = plan.charge(&c.callee, c.start, c.duration.into());
            assert_eq!(charged.is_ok(), !c.callee.starts_with("+8816"), "{c:?}");
            let cost = &plans[c.carrier.unwrap()];
            assert_eq!(
                cost.charge(&c.callee, c.start, c.duration.into()).is_ok(),
                charged.is_ok()
            );
        }
    }
}
