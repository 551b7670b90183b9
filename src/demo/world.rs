//! What the demo tenant holds, as plain data: a Spanish operator's brand with one client
//! of each type (and a second vPBX in the Canary Islands' time zone), their endpoints and
//! DDIs, two carriers, two DDI providers that deliver inbound calls in national formats,
//! and the rating profiles and schedulers that tie them together. Objects refer to each
//! other by position; [`super::load`] turns positions into the ids the database gives.

/// The brand's settings (its name comes from `--brand`).
pub const BRAND_TIMEZONE: &str = "Europe/Madrid";
pub const BRAND_LANGUAGE: &str = "en";
pub const BRAND_CURRENCY: &str = "EUR";
pub const BRAND_EMAIL: &str = "billing@demo-telecom.example";

/// How a client's staff uses the phone: office hours, or evenings and weekends at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Habit {
    Office,
    Home,
    Shop,
    /// A wholesale customer's switch: around the clock, busiest in business hours.
    Trunk,
}

#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub name: &'static str,
    pub client_type: &'static str,
    pub timezone: &'static str,
    /// Endpoint type and name.
    pub endpoints: &'static [(&'static str, &'static str)],
    /// E.164 numbers, and the DDI provider (position in [`PROVIDERS`]) each is linked to.
    pub ddis: &'static [(&'static str, Option<usize>)],
    /// The rating plan (position in [`super::plans::PLANS`]) its calls are priced with.
    pub plan: usize,
    /// Share of the tenant's calls.
    pub share: u32,
    pub habit: Habit,
    /// Part of its calls that are inbound, in percent.
    pub inbound_percent: u32,
}

pub const CLIENTS: &[ClientSpec] = &[
    ClientSpec {
        name: "Atlas Logistics",
        client_type: "vpbx",
        timezone: "Europe/Madrid",
        endpoints: &[
            ("User", "Reception"),
            ("User", "Sales 1"),
            ("User", "Sales 2"),
            ("User", "Sales 3"),
            ("User", "Support 1"),
            ("User", "Support 2"),
            ("User", "Accounts"),
            ("User", "Warehouse"),
            ("User", "Managing director"),
            ("Fax", "Office fax"),
            ("Friend", "Warehouse PBX"),
        ],
        ddis: &[
            ("+34910000100", Some(0)),
            ("+34910000101", Some(0)),
            ("+34910000102", Some(0)),
            ("+34910000103", Some(0)),
            ("+34910000104", Some(0)),
            ("+34910000105", None),
        ],
        plan: 2,
        share: 40,
        habit: Habit::Office,
        inbound_percent: 35,
    },
    ClientSpec {
        name: "Blue Harbour Dental",
        client_type: "vpbx",
        timezone: "Atlantic/Canary",
        endpoints: &[
            ("User", "Front desk"),
            ("User", "Surgery 1"),
            ("User", "Surgery 2"),
            ("Fax", "Lab fax"),
        ],
        ddis: &[("+34928000200", Some(1)), ("+34928000201", Some(1))],
        plan: 2,
        share: 10,
        habit: Habit::Office,
        inbound_percent: 45,
    },
    ClientSpec {
        name: "Casa Moreno",
        client_type: "residential",
        timezone: "Europe/Madrid",
        endpoints: &[("ResidentialDevice", "Home router"), ("Fax", "Home fax")],
        ddis: &[("+34960000300", None)],
        plan: 3,
        share: 4,
        habit: Habit::Home,
        inbound_percent: 30,
    },
    ClientSpec {
        name: "Kiosko Centro",
        client_type: "retail",
        timezone: "Europe/Madrid",
        endpoints: &[
            ("RetailAccount", "Booth 1"),
            ("RetailAccount", "Booth 2"),
            ("RetailAccount", "Booth 3"),
        ],
        ddis: &[("+34930000400", Some(1))],
        plan: 3,
        share: 16,
        habit: Habit::Shop,
        inbound_percent: 3,
    },
    ClientSpec {
        name: "Hermes Wholesale",
        client_type: "wholesale",
        timezone: "Europe/Madrid",
        endpoints: &[],
        ddis: &[],
        plan: 4,
        share: 30,
        habit: Habit::Trunk,
        inbound_percent: 0,
    },
];

/// Carriers: the first takes Spain and Europe, the second the rest of the world.
pub const CARRIERS: &[(&str, &str)] = &[
    ("Iberia Transit", "Domestic and European routes (demo)"),
    ("Globalink Voice", "International routes (demo)"),
];

pub struct ProviderSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub addresses: &'static [&'static str],
    /// Match and replace expressions, in priority order.
    pub rules: &'static [(&'static str, &'static str)],
    /// How the provider writes the called number of an inbound call, from the E.164 DDI.
    pub national_format: fn(&str) -> String,
}

/// DDI providers, on documentation address ranges (RFC 5737). The first sends the called
/// number as `0034…` or as the 9 national digits, the second as `34…`; their rules turn
/// both back into the E.164 DDI.
pub const PROVIDERS: &[ProviderSpec] = &[
    ProviderSpec {
        name: "Numeros Iberia",
        description: "Inbound numbers, Madrid and Valencia (demo)",
        addresses: &["198.51.100.0/24"],
        rules: &[("^0034", "+34"), ("^([6-9][0-9]{8})$", "+34$1")],
        national_format: |e164| e164.replacen("+34", "", 1),
    },
    ProviderSpec {
        name: "Alta Numbering",
        description: "Inbound numbers, Barcelona and the Canaries (demo)",
        addresses: &["203.0.113.10", "203.0.113.11"],
        rules: &[("^34", "+34")],
        national_format: |e164| e164.replacen('+', "", 1),
    },
];

/// The source address a provider's inbound calls come from.
pub fn provider_source(provider: usize, n: u64) -> String {
    match provider {
        0 => format!("198.51.100.{}", 10 + n % 20),
        _ => format!("203.0.113.{}", 10 + n % 2),
    }
}

/// Days before the first demo call that the rating profiles start.
pub const PROFILE_LEAD_DAYS: i64 = 30;

/// A second, cheaper price plan for the first client from this many days before the end
/// of the demo period: its calls before and after are priced by different profiles.
pub const LOYALTY_FROM_DAYS_AGO: i64 = 30;
pub const LOYALTY_CLIENT: usize = 0;
pub const LOYALTY_PLAN: usize = 5;

/// The schedulers. Created with a `nextExecution` in the past, so the first runner pass
/// builds their reports.
pub struct SchedulerSpec {
    pub name: &'static str,
    /// `None`: brand-level (the brand operator's); `Some(client)`: the client's own.
    pub client: Option<usize>,
    pub unit: &'static str,
    /// `None` = both directions.
    pub direction: Option<&'static str>,
    pub email: Option<&'static str>,
}

pub const SCHEDULERS: &[SchedulerSpec] = &[
    SchedulerSpec {
        name: "Monthly calls, all clients",
        client: None,
        unit: "month",
        direction: None,
        email: Some(BRAND_EMAIL),
    },
    SchedulerSpec {
        name: "Weekly outbound calls",
        client: Some(0),
        unit: "week",
        direction: Some("outbound"),
        email: None,
    },
    SchedulerSpec {
        name: "Daily outbound calls, all clients",
        client: None,
        unit: "day",
        direction: Some("outbound"),
        email: None,
    },
];

/// The client administrator made for the client-level scheduler: `<brand>-<this>`.
pub const CLIENT_ADMIN_SUFFIX: &str = "atlas";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::{CompiledRules, TransformationRule};

    #[test]
    fn every_client_type_has_a_client_and_endpoints_fit_it() {
        for t in crate::tenancy::CLIENT_TYPES {
            assert!(CLIENTS.iter().any(|c| c.client_type == *t), "{t}");
        }
        for c in CLIENTS {
            for (kind, _) in c.endpoints {
                assert!(
                    crate::tenancy::endpoint_type_fits(c.client_type, kind),
                    "{}",
                    c.name
                );
            }
            assert!(c.plan < super::super::plans::PLANS.len());
            assert!(c.timezone.parse::<chrono_tz::Tz>().is_ok());
        }
    }

    /// What each provider sends for a DDI becomes that DDI again through its own rules.
    #[test]
    fn provider_rules_turn_their_national_format_into_the_ddi() {
        for (p, provider) in PROVIDERS.iter().enumerate() {
            let rules: Vec<TransformationRule> = provider
                .rules
                .iter()
                .enumerate()
                .map(|(i, (m, r))| TransformationRule {
                    match_expr: m.to_string(),
                    replace_expr: r.to_string(),
                    priority: i as i64,
                })
                .collect();
            let compiled = CompiledRules::compile(&rules).unwrap();
            for c in CLIENTS {
                for (ddi, _) in c.ddis {
                    assert_eq!(
                        compiled.apply(&(provider.national_format)(ddi)),
                        *ddi,
                        "{p}"
                    );
                }
            }
            let nets = crate::detection::parse_addresses(
                &provider
                    .addresses
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            for n in 0..40 {
                let ip = provider_source(p, n).parse().unwrap();
                assert!(crate::detection::address_matches(&nets, ip));
            }
        }
    }
}
