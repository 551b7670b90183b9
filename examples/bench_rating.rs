//! Rating speed on one thread: a plan of 50 000 prefixes with peak, off-peak and weekend
//! rates (some with a first-minute slot), and 2 000 000 calls generated beforehand.
//!
//! Run: `cargo run --release --example bench_rating [calls]`

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use callcsv::rating::{Plan, PlanSettings, RateRow, RoundingMethod, WeekdaySet};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

const PREFIXES: usize = 50_000;
const DEFAULT_CALLS: usize = 2_000_000;

/// xorshift64*: deterministic, dependency-free randomness.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn digits(&mut self, count: u64, into: &mut String) {
        for _ in 0..count {
            into.push(char::from(b'0' + self.below(10) as u8));
        }
    }

    /// A rate with up to four decimals below 0.5.
    fn rate(&mut self) -> Decimal {
        Decimal::new(self.below(5_000) as i64, 4)
    }
}

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("calls: a number"))
        .unwrap_or(DEFAULT_CALLS);
    let mut random = Random(0x9E37_79B9_7F4A_7C15);

    // Prefixes of 2–9 digits, distinct (many nest inside shorter ones, as in real tables).
    let mut seen = HashSet::new();
    let mut prefixes = Vec::with_capacity(PREFIXES);
    while prefixes.len() < PREFIXES {
        let mut prefix = String::new();
        let length = 2 + random.below(8);
        random.digits(length, &mut prefix);
        if seen.insert(prefix.clone()) {
            prefixes.push(prefix);
        }
    }
    let weekdays = WeekdaySet::parse("1-5").unwrap();
    let weekend = WeekdaySet::parse("6,7").unwrap();
    let evening = NaiveTime::from_hms_opt(18, 0, 0).unwrap();
    let mut rows = Vec::with_capacity(PREFIXES * 4);
    for (i, prefix) in prefixes.iter().enumerate() {
        let row = |rate, weekdays, time_in| RateRow {
            prefix: prefix.clone(),
            destination_name: format!("Destination {}", i % 2_000),
            connect_fee: Decimal::ZERO,
            rate,
            rate_unit: 60,
            rate_increment: 1,
            group_interval_start: 0,
            weekdays,
            time_in,
        };
        let first_minute = i % 4 == 0;
        rows.push(RateRow {
            connect_fee: Decimal::new(random.below(100) as i64, 3),
            rate_increment: if first_minute { 60 } else { 1 },
            ..row(random.rate(), weekdays, NaiveTime::MIN)
        });
        if first_minute {
            rows.push(RateRow {
                group_interval_start: 60,
                ..row(random.rate(), weekdays, NaiveTime::MIN)
            });
        }
        rows.push(row(random.rate(), weekdays, evening));
        rows.push(row(random.rate(), weekend, NaiveTime::MIN));
    }
    let row_count = rows.len();
    let settings = PlanSettings {
        rounding_method: RoundingMethod::Middle,
        rounding_decimals: 4,
        timezone: Tz::Europe__Madrid,
    };

    let built = Instant::now();
    let plan = Plan::new(settings, rows).expect("a valid plan");
    let build_seconds = built.elapsed().as_secs_f64();
    println!("built plan of {PREFIXES} prefixes ({row_count} rows) in {build_seconds:.3} s");

    // Calls: a known prefix plus digits up to 11–12 digits (1 in 50 is an unknown number),
    // starting anywhere in the week of the 2024 spring DST change, lasting 0–3600 s.
    let week_start: DateTime<Utc> = "2024-03-25T00:00:00Z".parse().unwrap();
    let mut numbers = String::with_capacity(calls * 12);
    let mut spans = Vec::with_capacity(calls);
    let mut starts = Vec::with_capacity(calls);
    let mut durations = Vec::with_capacity(calls);
    for _ in 0..calls {
        let from = numbers.len();
        if random.below(50) == 0 {
            random.digits(11, &mut numbers);
        } else {
            let prefix = &prefixes[random.below(PREFIXES as u64) as usize];
            numbers.push_str(prefix);
            let rest = (11 + random.below(2)).saturating_sub(prefix.len() as u64);
            random.digits(rest, &mut numbers);
        }
        spans.push((from, numbers.len()));
        starts.push(week_start + Duration::seconds(random.below(7 * 86_400) as i64));
        durations.push(random.below(3_601));
    }

    let cpu_before = thread_cpu_seconds();
    let rated_at = Instant::now();
    let (mut ok, mut failed, mut checksum) = (0u64, 0u64, 0i128);
    for i in 0..calls {
        let (from, to) = spans[i];
        match black_box(&plan).charge(&numbers[from..to], starts[i], durations[i]) {
            Ok(charge) => {
                ok += 1;
                checksum = checksum.wrapping_add(charge.amount.mantissa());
            }
            Err(_) => failed += 1,
        }
    }
    let seconds = rated_at.elapsed().as_secs_f64();
    let cpu_seconds = thread_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    black_box(checksum);
    println!(
        "rated {calls} calls in {seconds:.3} s = {:.0} calls/s ({ok} rated, {failed} not rated, checksum {checksum})",
        calls as f64 / seconds
    );
    if let Some(cpu) = cpu_seconds {
        // On a busy machine the wall clock includes time spent waiting for a core.
        println!(
            "on-CPU time of the rating thread {cpu:.3} s = {:.0} calls/s",
            calls as f64 / cpu
        );
    }
}

/// CPU time this thread has run, from Linux's schedstat (nanoseconds); None elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}
