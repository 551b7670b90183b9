//! The measures of `/stats`, each defined once: [`Sums`] is what the database adds up per
//! group (and what groups merge by), [`Measures`] the figures shown, derived from sums.
//! Money is summed as exact integers of millionths and shown with 4 decimals, or with as
//! many as the stored amounts had (at most 6) when the sum needs them: never rounded.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

/// Millionths per unit of money (plans round amounts to at most 6 decimals).
pub const MICROS: i64 = 1_000_000;

/// What adds up over calls. Summing a group's sums gives the sums of its calls, so totals
/// over any grouping equal the totals over the raw calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Stored records, attempts included.
    pub calls: i64,
    /// Calls with disposition `answered`.
    pub answered: i64,
    /// Σ billed seconds of answered calls.
    pub billed_seconds: i64,
    /// Σ cost of the calls that have one, in millionths.
    pub cost_micros: i64,
    /// Σ price of the calls that have one, in millionths.
    pub price_micros: i64,
    /// Σ (price − cost) over the calls that have both, in millionths.
    pub margin_micros: i64,
    /// Answered outbound calls without a price.
    pub unrated: i64,
}

impl Sums {
    /// The sums of one call (what the database's aggregate computes per row).
    pub fn of_call(
        direction: &str,
        disposition: &str,
        billed_seconds: i64,
        cost_micros: Option<i64>,
        price_micros: Option<i64>,
    ) -> Sums {
        let answered = disposition == crate::db::billable_calls::ANSWERED;
        Sums {
            calls: 1,
            answered: answered as i64,
            billed_seconds: if answered { billed_seconds } else { 0 },
            cost_micros: cost_micros.unwrap_or(0),
            price_micros: price_micros.unwrap_or(0),
            margin_micros: match (cost_micros, price_micros) {
                (Some(c), Some(p)) => p - c,
                _ => 0,
            },
            unrated: (answered && direction == "outbound" && price_micros.is_none()) as i64,
        }
    }

    pub fn add(&mut self, other: &Sums) {
        self.calls += other.calls;
        self.answered += other.answered;
        self.billed_seconds += other.billed_seconds;
        self.cost_micros += other.cost_micros;
        self.price_micros += other.price_micros;
        self.margin_micros += other.margin_micros;
        self.unrated += other.unrated;
    }
}

/// Which money measures a caller sees (client administrators: no cost nor margin, and no
/// price when their client's `showBillingDetails` is false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    pub cost: bool,
    pub price: bool,
}

impl Visibility {
    pub const ALL: Visibility = Visibility {
        cost: true,
        price: true,
    };
}

/// The figures of one row, as shown (JSON and CSV); hidden money is `None` and left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measures {
    pub calls: i64,
    pub answered: i64,
    /// answered / calls, 4 decimals (half away from zero); null when there are no calls.
    pub asr: Option<String>,
    pub billed_seconds: i64,
    /// billedSeconds / 60, 1 decimal.
    pub minutes: String,
    /// billedSeconds / answered in seconds, 1 decimal; null when nothing was answered.
    pub acd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    pub unrated: i64,
}

impl Measures {
    /// The measures' names, in the order of CSV columns.
    pub const NAMES: [&'static str; 10] = [
        "calls",
        "answered",
        "asr",
        "billedSeconds",
        "minutes",
        "acd",
        "cost",
        "price",
        "margin",
        "unrated",
    ];

    /// One measure (named as in [`Measures::NAMES`]) as a CSV cell; empty when null or hidden.
    pub fn cell(&self, name: &str) -> String {
        match name {
            "calls" => self.calls.to_string(),
            "answered" => self.answered.to_string(),
            "asr" => self.asr.clone().unwrap_or_default(),
            "billedSeconds" => self.billed_seconds.to_string(),
            "minutes" => self.minutes.clone(),
            "acd" => self.acd.clone().unwrap_or_default(),
            "cost" => self.cost.clone().unwrap_or_default(),
            "price" => self.price.clone().unwrap_or_default(),
            "margin" => self.margin.clone().unwrap_or_default(),
            _ => self.unrated.to_string(),
        }
    }

    pub fn of(sums: &Sums, shown: Visibility) -> Measures {
        Measures {
            calls: sums.calls,
            answered: sums.answered,
            asr: ratio(sums.answered, sums.calls, 4),
            billed_seconds: sums.billed_seconds,
            minutes: ratio(sums.billed_seconds, 60, 1).unwrap_or_default(),
            acd: ratio(sums.billed_seconds, sums.answered, 1),
            cost: shown.cost.then(|| money(sums.cost_micros)),
            price: shown.price.then(|| money(sums.price_micros)),
            margin: shown.cost.then(|| money(sums.margin_micros)),
            unrated: sums.unrated,
        }
    }
}

/// `numerator / denominator` rounded half away from zero to `decimals`, always written
/// with that many; None when the denominator is 0.
pub fn ratio(numerator: i64, denominator: i64, decimals: u32) -> Option<String> {
    if denominator == 0 {
        return None;
    }
    let mut value = (Decimal::from(numerator) / Decimal::from(denominator))
        .round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    value.rescale(decimals);
    Some(value.to_string())
}

/// An exact sum of millionths as money text: 4 decimals, more only when the sum has them.
pub fn money(micros: i64) -> String {
    let mut value = Decimal::new(micros, 6).normalize();
    if value.scale() < 4 {
        value.rescale(4);
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_away_from_zero_and_keep_their_decimals() {
        assert_eq!(ratio(1010, 1200, 4).as_deref(), Some("0.8417"));
        assert_eq!(ratio(1, 1, 4).as_deref(), Some("1.0000"));
        assert_eq!(ratio(0, 5, 4).as_deref(), Some("0.0000"));
        assert_eq!(ratio(1, 8, 2).as_deref(), Some("0.13")); // 0.125
        assert_eq!(ratio(181_800, 60, 1).as_deref(), Some("3030.0"));
        assert_eq!(ratio(181_803, 60, 1).as_deref(), Some("3030.1")); // 3030.05
        assert_eq!(ratio(7, 0, 1), None);
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(money(0), "0.0000");
        assert_eq!(money(40_120_000), "40.1200");
        assert_eq!(money(123), "0.000123");
        assert_eq!(money(-21_380_000), "-21.3800");
        assert_eq!(money(1_234_567_891_234_567), "1234567891.234567");
    }

    #[test]
    fn each_call_counts_as_the_definitions_say() {
        let answered_priced =
            Sums::of_call("outbound", "answered", 61, Some(50_000), Some(120_000));
        assert_eq!(
            answered_priced,
            Sums {
                calls: 1,
                answered: 1,
                billed_seconds: 61,
                cost_micros: 50_000,
                price_micros: 120_000,
                margin_micros: 70_000,
                unrated: 0
            }
        );
        // Unanswered: a call, not answered, no seconds.
        let busy = Sums::of_call("outbound", "busy", 12, None, None);
        assert_eq!(
            (busy.calls, busy.answered, busy.billed_seconds, busy.unrated),
            (1, 0, 0, 0)
        );
        // Answered outbound without a price is unrated; its cost counts, its margin not.
        let unrated = Sums::of_call("outbound", "answered", 30, Some(10_000), None);
        assert_eq!(
            (unrated.unrated, unrated.cost_micros, unrated.margin_micros),
            (1, 10_000, 0)
        );
        // Inbound calls without a price are not unrated.
        assert_eq!(
            Sums::of_call("inbound", "answered", 30, None, None).unrated,
            0
        );

        let mut total = Sums::default();
        for s in [answered_priced, busy, unrated] {
            total.add(&s);
        }
        let shown = Measures::of(&total, Visibility::ALL);
        assert_eq!(shown.asr.as_deref(), Some("0.6667"));
        assert_eq!(shown.minutes, "1.5");
        assert_eq!(shown.acd.as_deref(), Some("45.5"));
        assert_eq!(shown.cost.as_deref(), Some("0.0600"));
        assert_eq!(shown.price.as_deref(), Some("0.1200"));
        assert_eq!(shown.margin.as_deref(), Some("0.0700"));
        assert_eq!(shown.unrated, 1);
    }

    #[test]
    fn empty_groups_have_no_ratios_and_hidden_money_is_left_out() {
        let shown = Measures::of(
            &Sums::default(),
            Visibility {
                cost: false,
                price: false,
            },
        );
        assert_eq!((&shown.asr, &shown.acd), (&None, &None));
        assert_eq!(shown.minutes, "0.0");
        let json = serde_json::to_value(&shown).unwrap();
        assert!(
            json.get("cost").is_none()
                && json.get("price").is_none()
                && json.get("margin").is_none()
        );
        assert!(json["asr"].is_null());
    }
}
