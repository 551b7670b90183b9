//! The brand's tenancy as call ingestion needs it, loaded once per request: which clients,
//! carriers, DDIs, endpoints and DDI providers exist, and inbound DDI provider detection
//! over them (api.md, "Inbound DDI provider detection").

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use diesel::prelude::*;
use ipnet::IpNet;

use crate::db::schema::{carriers, clients, ddis, endpoints};
use crate::db::DbConnection;
use crate::detection::{parse_addresses, CompiledRules};
use crate::error::{AppError, AppResult};

pub struct DdiInfo {
    pub id: String,
    pub client_id: String,
    pub provider_id: Option<String>,
}

pub struct ProviderInfo {
    pub id: String,
    pub networks: Vec<IpNet>,
    pub rules: CompiledRules,
}

pub struct Directory {
    pub brand_id: String,
    /// client id → client type
    pub clients: HashMap<String, String>,
    pub carriers: HashSet<String>,
    pub ddis: HashMap<String, DdiInfo>,
    /// E.164 number → DDI id
    pub ddi_numbers: HashMap<String, String>,
    /// endpoint id → (client id, endpoint type)
    pub endpoints: HashMap<String, (String, String)>,
    /// In ascending id order: detection tries providers in that order.
    pub providers: Vec<ProviderInfo>,
}

/// The result of detecting an inbound call's DDI.
#[derive(Debug, PartialEq, Eq)]
pub struct Detected {
    pub ddi_id: String,
    pub provider_id: String,
}

impl Directory {
    pub fn load(conn: &mut DbConnection, brand_id: &str) -> AppResult<Directory> {
        let clients: HashMap<String, String> = clients::table
            .filter(clients::brand_id.eq(brand_id))
            .select((clients::id, clients::client_type))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        let carriers: HashSet<String> = carriers::table
            .filter(carriers::brand_id.eq(brand_id))
            .select(carriers::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let mut ddi_numbers = HashMap::new();
        let mut ddi_map = HashMap::new();
        for (id, client_id, number, provider_id) in ddis::table
            .filter(ddis::brand_id.eq(brand_id))
            .select((
                ddis::id,
                ddis::client_id,
                ddis::ddi_e164,
                ddis::ddi_provider_id,
            ))
            .load::<(String, String, String, Option<String>)>(conn)?
        {
            ddi_numbers.insert(number, id.clone());
            ddi_map.insert(
                id.clone(),
                DdiInfo {
                    id,
                    client_id,
                    provider_id,
                },
            );
        }
        let endpoints = endpoints::table
            .filter(endpoints::brand_id.eq(brand_id))
            .select((
                endpoints::id,
                endpoints::client_id,
                endpoints::endpoint_type,
            ))
            .load::<(String, String, String)>(conn)?
            .into_iter()
            .map(|(id, client, kind)| (id, (client, kind)))
            .collect();
        let mut providers = vec![];
        for p in crate::db::ddi_providers::of_brand(conn, brand_id)? {
            // Stored providers were validated on write; a failure here means the stored
            // data is corrupt, which is worth a clear error rather than a silent skip.
            let networks = parse_addresses(&p.addresses()?).map_err(|e| {
                AppError::internal(format!("ddi provider {}: addresses: {e}", p.id))
            })?;
            let rules = CompiledRules::compile(&p.rules()?)
                .map_err(|e| AppError::internal(format!("ddi provider {}: rules: {e}", p.id)))?;
            providers.push(ProviderInfo {
                id: p.id,
                networks,
                rules,
            });
        }
        providers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Directory {
            brand_id: brand_id.to_string(),
            clients,
            carriers,
            ddis: ddi_map,
            ddi_numbers,
            endpoints,
            providers,
        })
    }

    /// Inbound detection: providers whose addresses contain `source`, tried in ascending
    /// id order; the first whose rules turn `callee` into a DDI of the brand wins. The
    /// provider saved is that one, unless the DDI is linked to another provider that also
    /// matches the source: then the linked one.
    pub fn detect(&self, source: IpAddr, callee: &str) -> Result<Detected, &'static str> {
        let matching: Vec<&ProviderInfo> = self
            .providers
            .iter()
            .filter(|p| crate::detection::address_matches(&p.networks, source))
            .collect();
        if matching.is_empty() {
            return Err("unknown source");
        }
        for provider in &matching {
            let number = provider.rules.apply(callee);
            let Some(ddi_id) = self.ddi_numbers.get(&number) else {
                continue;
            };
            let linked = self.ddis.get(ddi_id).and_then(|d| d.provider_id.as_deref());
            let provider_id = match linked {
                Some(l) if l != provider.id && matching.iter().any(|p| p.id == l) => l.to_string(),
                _ => provider.id.clone(),
            };
            return Ok(Detected {
                ddi_id: ddi_id.clone(),
                provider_id,
            });
        }
        Err("no DDI for callee")
    }

    /// The DDI a provider's rules make of `callee`, if any (a provider given without a DDI).
    pub fn ddi_via_provider(&self, provider_id: &str, callee: &str) -> Option<String> {
        let provider = self.providers.iter().find(|p| p.id == provider_id)?;
        self.ddi_numbers.get(&provider.rules.apply(callee)).cloned()
    }

    pub fn has_provider(&self, id: &str) -> bool {
        self.providers.iter().any(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::TransformationRule;

    fn provider(id: &str, addrs: &[&str], rules: &[(&str, &str)]) -> ProviderInfo {
        let addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        let rules: Vec<TransformationRule> = rules
            .iter()
            .enumerate()
            .map(|(i, (m, r))| TransformationRule {
                match_expr: m.to_string(),
                replace_expr: r.to_string(),
                priority: i as i64,
            })
            .collect();
        ProviderInfo {
            id: id.into(),
            networks: parse_addresses(&addrs).unwrap(),
            rules: CompiledRules::compile(&rules).unwrap(),
        }
    }

    fn directory(providers: Vec<ProviderInfo>, ddis: &[(&str, &str, Option<&str>)]) -> Directory {
        let mut dir = Directory {
            brand_id: "b".into(),
            clients: HashMap::new(),
            carriers: HashSet::new(),
            ddis: HashMap::new(),
            ddi_numbers: HashMap::new(),
            endpoints: HashMap::new(),
            providers,
        };
        for (id, number, linked) in ddis {
            dir.ddi_numbers.insert(number.to_string(), id.to_string());
            dir.ddis.insert(
                id.to_string(),
                DdiInfo {
                    id: id.to_string(),
                    client_id: "c".into(),
                    provider_id: linked.map(str::to_string),
                },
            );
        }
        dir
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn unknown_source_when_no_provider_address_matches() {
        let dir = directory(
            vec![provider("p1", &["10.0.0.0/24"], &[])],
            &[("d1", "+34911000001", None)],
        );
        assert_eq!(
            dir.detect(ip("10.0.1.1"), "+34911000001"),
            Err("unknown source")
        );
    }

    #[test]
    fn rules_turn_the_callee_into_a_ddi() {
        let p = provider(
            "p1",
            &["10.0.0.0/24"],
            &[("^00", "+"), ("^([1-9])", "+34$1")],
        );
        let dir = directory(vec![p], &[("d1", "+34911000001", None)]);
        let found = dir.detect(ip("10.0.0.7"), "911000001").unwrap();
        assert_eq!(
            found,
            Detected {
                ddi_id: "d1".into(),
                provider_id: "p1".into()
            }
        );
        assert_eq!(
            dir.detect(ip("10.0.0.7"), "0034911000001").unwrap().ddi_id,
            "d1"
        );
    }

    #[test]
    fn no_ddi_for_callee_when_no_provider_yields_one() {
        let dir = directory(
            vec![provider("p1", &["10.0.0.1"], &[])],
            &[("d1", "+34911000001", None)],
        );
        assert_eq!(
            dir.detect(ip("10.0.0.1"), "+34911000002"),
            Err("no DDI for callee")
        );
    }

    #[test]
    fn providers_are_tried_in_ascending_id_order() {
        // Both match the source; p1's rules do not produce a DDI, p2's do.
        let p1 = provider("p1", &["10.0.0.0/8"], &[("^", "x")]);
        let p2 = provider("p2", &["10.0.0.1"], &[]);
        let dir = directory(vec![p1, p2], &[("d1", "+34911000001", None)]);
        assert_eq!(
            dir.detect(ip("10.0.0.1"), "+34911000001")
                .unwrap()
                .provider_id,
            "p2"
        );
        // When both yield the DDI, the lower id wins.
        let dir = directory(
            vec![
                provider("p1", &["10.0.0.0/8"], &[]),
                provider("p2", &["10.0.0.1"], &[]),
            ],
            &[("d1", "+34911000001", None)],
        );
        assert_eq!(
            dir.detect(ip("10.0.0.1"), "+34911000001")
                .unwrap()
                .provider_id,
            "p1"
        );
    }

    #[test]
    fn the_linked_provider_wins_when_it_also_matches_the_source() {
        let providers = || {
            vec![
                provider("p1", &["10.0.0.0/8"], &[]),
                provider("p2", &["10.0.0.1"], &[]),
            ]
        };
        let dir = directory(providers(), &[("d1", "+34911000001", Some("p2"))]);
        assert_eq!(
            dir.detect(ip("10.0.0.1"), "+34911000001")
                .unwrap()
                .provider_id,
            "p2"
        );
        // Linked to a provider that does not match this source: the matching one is kept.
        let dir = directory(providers(), &[("d1", "+34911000001", Some("p2"))]);
        assert_eq!(
            dir.detect(ip("10.9.9.9"), "+34911000001")
                .unwrap()
                .provider_id,
            "p1"
        );
    }

    #[test]
    fn ipv6_sources() {
        let dir = directory(
            vec![provider("p1", &["2001:db8::/32"], &[])],
            &[("d1", "+34911000001", None)],
        );
        assert!(dir.detect(ip("2001:db8::5"), "+34911000001").is_ok());
        assert_eq!(
            dir.detect(ip("2001:db9::5"), "+34911000001"),
            Err("unknown source")
        );
    }
}
