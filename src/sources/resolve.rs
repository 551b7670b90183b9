//! From a parsed record to a call ready to store, or the reason it is not one: the answered
//! filter, numbering to E.164, direction (rules, the format's field, the default rule),
//! client / carrier / endpoint / DDI attribution, identity and rating (sources.md, "Turning
//! a record into a call"). Everything it needs is loaded before the first record (the
//! brand's directory, its codes, its plans), so this part does no I/O and is tested with
//! plain values.

use std::collections::HashMap;

use crate::calls::directory::Directory;
use crate::calls::rater::{CallToRate, Rater};
use crate::db::billable_calls::BillableCall;
use crate::db::{self, DbConnection};
use crate::error::AppResult;
use crate::sources::numbering::Number;
use crate::sources::settings::SourceSettings;
use crate::sources::{Direction, Disposition, Format, Record};

/// Why a record was counted but not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not answered, and the source keeps answered calls only.
    Unanswered,
    /// Between two phones of the brand: nobody is billed.
    Internal,
    /// The B-leg of a bridged call whose A-leg counts.
    Leg,
    /// A direction rule said `skip`.
    Filtered,
}

/// What becomes of one record.
#[derive(Debug)]
pub enum Verdict {
    Store(Box<BillableCall>),
    Skip(Skip),
    Reject(String),
}

/// The codes records carry, as the brand's clients, carriers and endpoints declare them.
#[derive(Debug, Default)]
pub struct Codes {
    /// client code → client id
    pub clients: HashMap<String, String>,
    /// carrier code → carrier id
    pub carriers: HashMap<String, String>,
    /// endpoint code → [(client id, endpoint id, endpoint type)] (unique per client only)
    pub endpoints: HashMap<String, Vec<(String, String, String)>>,
}

impl Codes {
    pub fn load(conn: &mut DbConnection, brand_id: &str) -> AppResult<Codes> {
        use crate::db::schema::{carriers, clients, endpoints};
        use diesel::prelude::*;
        let mut codes = Codes::default();
        for (id, code) in clients::table
            .filter(clients::brand_id.eq(brand_id))
            .filter(clients::code.is_not_null())
            .select((clients::id, clients::code))
            .load::<(String, Option<String>)>(conn)?
        {
            codes.clients.extend(code.map(|c| (c, id)));
        }
        for (id, code) in carriers::table
            .filter(carriers::brand_id.eq(brand_id))
            .filter(carriers::code.is_not_null())
            .select((carriers::id, carriers::code))
            .load::<(String, Option<String>)>(conn)?
        {
            codes.carriers.extend(code.map(|c| (c, id)));
        }
        for (id, client, kind, code) in endpoints::table
            .filter(endpoints::brand_id.eq(brand_id))
            .filter(endpoints::code.is_not_null())
            .select((
                endpoints::id,
                endpoints::client_id,
                endpoints::endpoint_type,
                endpoints::code,
            ))
            .load::<(String, String, String, Option<String>)>(conn)?
        {
            if let Some(code) = code {
                codes
                    .endpoints
                    .entry(code)
                    .or_default()
                    .push((client, id, kind));
            }
        }
        Ok(codes)
    }

    /// The one client whose endpoint has this code, if exactly one has.
    fn client_of_endpoint(&self, code: &str) -> Option<&str> {
        match self.endpoints.get(code).map(Vec::as_slice) {
            Some([(client, _, _)]) => Some(client.as_str()),
            _ => None,
        }
    }

    fn endpoint_of(&self, client: &str, code: &str) -> Option<(&str, &str)> {
        self.endpoints
            .get(code)?
            .iter()
            .find(|(c, _, _)| c == client)
            .map(|(_, id, kind)| (id.as_str(), kind.as_str()))
    }
}

/// Everything a source's records are resolved against.
pub struct Context<'a> {
    pub source: &'a SourceSettings,
    pub directory: &'a Directory,
    pub codes: &'a Codes,
    pub rater: &'a Rater,
}

/// A party number once numbered: E.164, an extension, or what the record had when it is no
/// number at all (`anonymous`, an empty caller of an inbound call).
enum Party {
    Number(Number),
    Unknown(String),
}

impl Party {
    fn text(&self) -> &str {
        match self {
            Party::Number(n) => n.as_str(),
            Party::Unknown(raw) => raw,
        }
    }

    fn e164(&self) -> Option<&str> {
        match self {
            Party::Number(Number::E164(n)) => Some(n),
            _ => None,
        }
    }
}

impl Context<'_> {
    /// The verdict on one record.
    pub fn resolve(&self, record: &Record) -> Verdict {
        match self.try_resolve(record) {
            Ok(verdict) => verdict,
            Err(message) => Verdict::Reject(message),
        }
    }

    fn try_resolve(&self, record: &Record) -> Result<Verdict, String> {
        let source = self.source;
        if record.b_leg {
            return Ok(Verdict::Skip(Skip::Leg));
        }
        if source.format == Format::WebexCdr {
            let kind = record.fields.get("Call type").unwrap_or("");
            if !source.call_types.iter().any(|t| t == kind) {
                return Ok(Verdict::Skip(Skip::Internal));
            }
        }
        let answered = record.disposition == Disposition::Answered;
        if !answered && source.answered_only {
            return Ok(Verdict::Skip(Skip::Unanswered));
        }
        let start = record.start.resolve(source.timezone)?;
        let callee = match self.number(&record.callee) {
            Party::Unknown(raw) => return Err(format!("callee: {raw:?} is not a phone number")),
            known => known,
        };
        let caller = self.number(&record.caller);

        let direction = self.direction(record, &caller, &callee);
        let direction = match direction {
            Some(Direction::Internal) => return Ok(Verdict::Skip(Skip::Internal)),
            Some(Direction::Skip) => return Ok(Verdict::Skip(Skip::Filtered)),
            Some(d) => d,
            None => {
                return Err(
                    "direction: neither party is a DDI, extension or endpoint of the brand; add a direction rule"
                        .into(),
                )
            }
        };
        let outbound = direction == Direction::Outbound;

        // The DDI: the callee of an inbound call (detected by the signalling address when
        // the record has one), the caller of an outbound call.
        let ddi;
        let mut provider = None;
        if outbound {
            ddi = caller
                .e164()
                .and_then(|n| self.directory.ddi_numbers.get(n));
        } else {
            let detected = record
                .source_ip
                .as_deref()
                .and_then(|ip| ip.parse().ok())
                .and_then(|ip| self.directory.detect(ip, callee.text()).ok());
            match detected {
                Some(found) => {
                    ddi = self.directory.ddis.get(&found.ddi_id).map(|d| &d.id);
                    provider = Some(found.provider_id);
                }
                None => {
                    ddi = callee
                        .e164()
                        .and_then(|n| self.directory.ddi_numbers.get(n))
                }
            }
        }
        let ddi_info = ddi.and_then(|id| self.directory.ddis.get(id));
        if provider.is_none() {
            provider = ddi_info.and_then(|d| d.provider_id.clone());
        }

        let client = self.client(
            record,
            outbound,
            &caller,
            ddi_info.map(|d| d.client_id.as_str()),
        )?;
        // A DDI belongs to its client; on a call attributed to another client by a code,
        // the DDI is not the call's.
        let ddi = ddi_info.filter(|d| d.client_id == client);
        let provider = if ddi.is_some() || !outbound {
            provider
        } else {
            None
        };
        let carrier = if outbound { self.carrier(record) } else { None };
        let endpoint = source
            .mapping
            .endpoint_field
            .as_deref()
            .and_then(|field| record.fields.get(field))
            .and_then(|code| self.codes.endpoint_of(&client, code.trim()));

        let callid = format!("{}{}", source.callid_prefix, record.callid);
        if callid.len() > 255 || callid.chars().any(char::is_control) {
            return Err("callid: at most 255 characters, no control characters".into());
        }
        let start = start.naive_utc();
        // Unanswered calls are kept for the record, never rated.
        let outcome = if answered {
            self.rater.rate(&CallToRate {
                direction: direction.name(),
                client_id: &client,
                carrier_id: carrier.as_deref(),
                callee: callee.text(),
                start,
                billed_seconds: record.billed_seconds,
            })
        } else {
            Default::default()
        };
        let now = db::now();
        Ok(Verdict::Store(Box::new(BillableCall {
            id: db::new_id(),
            brand_id: source.brand_id.to_string(),
            callid,
            start_time: start,
            duration: record.billed_seconds.to_string(),
            billed_seconds: record.billed_seconds as i64,
            caller: caller.text().to_string(),
            callee: callee.text().to_string(),
            direction: direction.name().to_string(),
            client_id: client,
            carrier_id: carrier,
            ddi_id: ddi.map(|d| d.id.clone()),
            ddi_provider_id: provider,
            source_ip: record.source_ip.clone(),
            endpoint_type: endpoint.map(|(_, kind)| kind.to_string()),
            endpoint_id: endpoint.map(|(id, _)| id.to_string()),
            cost: outcome.cost,
            price: outcome.price,
            rating_error: outcome.error,
            destination_name: outcome.destination_name,
            rating_plan_id: outcome.rating_plan_id,
            created_at: now,
            updated_at: now,
            source_id: Some(source.id.clone()),
            disposition: record.disposition.name().to_string(),
            hangup_cause: record.hangup_cause.map(i32::from),
            destination_country: crate::calls::country::destination_country(
                direction.name(),
                caller.text(),
                callee.text(),
            ),
        })))
    }

    fn number(&self, raw: &str) -> Party {
        let numbering = &self.source.numbering;
        let numbered = if self.source.format.numbers_are_e164() {
            numbering.normalise_e164(raw)
        } else {
            numbering.normalise(raw)
        };
        match numbered {
            Ok(n) => Party::Number(n),
            Err(_) => Party::Unknown(raw.trim().to_string()),
        }
    }

    /// Whether a party is the brand's own: an extension, a DDI, or an endpoint code.
    fn is_internal(&self, party: &Party) -> bool {
        match party {
            Party::Number(Number::Extension(_)) => true,
            Party::Number(Number::E164(n)) => self.directory.ddi_numbers.contains_key(n),
            Party::Unknown(raw) => !raw.is_empty() && self.codes.endpoints.contains_key(raw),
        }
    }

    /// The rules, else the format's field, else the default rule; `None` when nothing
    /// tells.
    fn direction(&self, record: &Record, caller: &Party, callee: &Party) -> Option<Direction> {
        for rule in &self.source.direction_rules {
            if record
                .fields
                .get(&rule.field)
                .is_some_and(|value| rule.matches.is_match(value))
            {
                return Some(rule.direction);
            }
        }
        if record.direction_hint.is_some() {
            return record.direction_hint;
        }
        let callee_is_ddi = callee
            .e164()
            .is_some_and(|n| self.directory.ddi_numbers.contains_key(n));
        if callee_is_ddi {
            return Some(Direction::Inbound);
        }
        match (self.is_internal(caller), self.is_internal(callee)) {
            (true, true) => Some(Direction::Internal),
            (true, false) => Some(Direction::Outbound),
            _ => None,
        }
    }

    /// `mapping.client`, else the DDI's client, else the endpoint code's client, else
    /// `mapping.defaultClient`.
    fn client(
        &self,
        record: &Record,
        outbound: bool,
        caller: &Party,
        ddi_client: Option<&str>,
    ) -> Result<String, String> {
        let mapping = &self.source.mapping;
        let mut tried = None;
        if let Some(field) = &mapping.client_field {
            let code = record.fields.get(field).unwrap_or("").trim();
            if let Some(id) = self.codes.clients.get(code) {
                return Ok(id.clone());
            }
            if !code.is_empty() {
                tried = Some(format!(" ({field} {code:?} is no client's code)"));
            }
        }
        // The API's own format names the client by id.
        if self.source.format == Format::Callcsv {
            if let Some(id) = record.fields.get("client").map(str::trim) {
                if self.directory.clients.contains_key(id) {
                    return Ok(id.to_string());
                }
            }
        }
        if let Some(id) = ddi_client {
            return Ok(id.to_string());
        }
        let endpoint_code = match &mapping.endpoint_field {
            Some(field) => record.fields.get(field).map(str::trim),
            None if outbound => Some(caller.text()),
            None => None,
        };
        if let Some(id) = endpoint_code.and_then(|code| self.codes.client_of_endpoint(code)) {
            return Ok(id.to_string());
        }
        if let Some(id) = &mapping.default_client {
            return Ok(id.clone());
        }
        Err(format!("no client for record{}", tried.unwrap_or_default()))
    }

    /// `mapping.carrier` (the pattern's first group, or the whole value, is a carrier
    /// code), else the format's default field, else `mapping.defaultCarrier`.
    fn carrier(&self, record: &Record) -> Option<String> {
        let mapping = &self.source.mapping;
        let mapped = mapping.carrier_field.as_ref().and_then(|(field, pattern)| {
            let value = record.fields.get(field)?;
            match pattern {
                None => Some(value.trim().to_string()),
                Some(re) => {
                    let found = re.captures(value)?;
                    let text = found.get(1).or_else(|| found.get(0))?;
                    Some(text.as_str().to_string())
                }
            }
        });
        for code in [mapped, record.carrier_hint.clone()].into_iter().flatten() {
            if let Some(id) = self.codes.carriers.get(&code) {
                return Some(id.clone());
            }
            // The API's own format names the carrier by id.
            if self.source.format == Format::Callcsv && self.directory.carriers.contains(&code) {
                return Some(code);
            }
        }
        mapping.default_carrier.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use chrono::NaiveDate;
    use regex::Regex;

    use super::*;
    use crate::calls::directory::DdiInfo;
    use crate::calls::rater::PlanCache;
    use crate::ids::{BrandId, Id};
    use crate::sources::numbering::Numbering;
    use crate::sources::settings::{DirectionRule, Mapping, DEFAULT_WEBEX_CALL_TYPES};
    use crate::sources::{Fields, ReadOptions, Start};

    const DDI: &str = "+34910000001";

    fn settings() -> SourceSettings {
        SourceSettings {
            id: "source-1".into(),
            brand_id: BrandId::from_db("brand-1".into()),
            name: "pbx".into(),
            format: Format::AsteriskCsv,
            timezone: chrono_tz::Europe::Madrid,
            read: ReadOptions::default(),
            answered_only: true,
            numbering: Numbering::new("34", "", "00", 4, &[]).unwrap(),
            direction_rules: vec![],
            mapping: Mapping::default(),
            call_types: DEFAULT_WEBEX_CALL_TYPES.map(String::from).to_vec(),
            callid_prefix: String::new(),
            enabled: true,
        }
    }

    fn directory() -> Directory {
        let mut dir = Directory {
            brand_id: "brand-1".into(),
            clients: HashMap::from([
                ("client-a".to_string(), "vpbx".to_string()),
                ("client-b".to_string(), "vpbx".to_string()),
            ]),
            carriers: HashSet::from(["carrier-1".to_string()]),
            ddis: HashMap::new(),
            ddi_numbers: HashMap::new(),
            endpoints: HashMap::new(),
            providers: vec![],
        };
        dir.ddi_numbers.insert(DDI.into(), "ddi-1".into());
        dir.ddis.insert(
            "ddi-1".into(),
            DdiInfo {
                id: "ddi-1".into(),
                client_id: "client-a".into(),
                provider_id: None,
            },
        );
        dir
    }

    fn codes() -> Codes {
        Codes {
            clients: HashMap::from([("ACME".to_string(), "client-b".to_string())]),
            carriers: HashMap::from([("TELCHAN".to_string(), "carrier-1".to_string())]),
            endpoints: HashMap::from([(
                "201".to_string(),
                vec![(
                    "client-a".to_string(),
                    "endpoint-1".to_string(),
                    "User".to_string(),
                )],
            )]),
        }
    }

    fn record(caller: &str, callee: &str) -> Record {
        Record {
            line: 7,
            callid: "1700000000.1".into(),
            start: Start::Local(
                NaiveDate::from_ymd_opt(2026, 1, 31)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
            ),
            caller: caller.into(),
            callee: callee.into(),
            billed_seconds: 61,
            disposition: Disposition::Answered,
            hangup_cause: Some(16),
            carrier_hint: Some("TELCHAN".into()),
            direction_hint: None,
            b_leg: false,
            source_ip: None,
            fields: Fields::from_pairs(vec![
                ("accountcode".into(), "ACME".into()),
                ("channel".into(), "SIP/201-0001".into()),
            ]),
        }
    }

    /// Resolves `record` with `source` against the fixture brand (no rating profiles).
    fn verdict(source: &SourceSettings, record: &Record) -> Verdict {
        let (_dir, mut conn) = crate::ops::testing::database();
        let rater = Rater::load(&mut conn, &PlanCache::default(), "brand-1").unwrap();
        let (directory, codes) = (directory(), codes());
        let context = Context {
            source,
            directory: &directory,
            codes: &codes,
            rater: &rater,
        };
        context.resolve(record)
    }

    fn stored(v: Verdict) -> BillableCall {
        match v {
            Verdict::Store(call) => *call,
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn an_extension_calling_out_is_outbound_from_its_endpoints_client() {
        let call = stored(verdict(&settings(), &record("201", "912345678")));
        assert_eq!(call.direction, "outbound");
        assert_eq!(call.caller, "201");
        assert_eq!(call.callee, "+34912345678");
        assert_eq!(call.client_id, "client-a");
        assert_eq!(call.carrier_id.as_deref(), Some("carrier-1"));
        assert_eq!(call.source_id.as_deref(), Some("source-1"));
        assert_eq!(call.hangup_cause, Some(16));
        assert_eq!(call.disposition, "answered");
        assert_eq!(call.billed_seconds, 61);
        // 10:00 in Madrid in winter is 09:00 UTC.
        assert_eq!(call.start_time.to_string(), "2026-01-31 09:00:00");
        assert_eq!(call.callid, "1700000000.1");
    }

    #[test]
    fn a_call_to_a_ddi_is_inbound_and_belongs_to_the_ddis_client() {
        let call = stored(verdict(&settings(), &record("0044207946000", "910000001")));
        assert_eq!(call.direction, "inbound");
        assert_eq!(call.caller, "+44207946000");
        assert_eq!(call.client_id, "client-a");
        assert_eq!(call.ddi_id.as_deref(), Some("ddi-1"));
        assert_eq!(call.carrier_id, None);
        assert_eq!(call.price, None);
    }

    #[test]
    fn calls_between_extensions_unanswered_calls_and_b_legs_are_skipped() {
        let source = settings();
        assert!(matches!(
            verdict(&source, &record("201", "202")),
            Verdict::Skip(Skip::Internal)
        ));
        let mut busy = record("201", "912345678");
        busy.disposition = Disposition::Busy;
        assert!(matches!(
            verdict(&source, &busy),
            Verdict::Skip(Skip::Unanswered)
        ));
        let mut leg = record("201", "912345678");
        leg.b_leg = true;
        assert!(matches!(verdict(&source, &leg), Verdict::Skip(Skip::Leg)));
    }

    #[test]
    fn a_source_keeping_unanswered_calls_stores_them_unrated() {
        let source = SourceSettings {
            answered_only: false,
            ..settings()
        };
        let mut busy = record("201", "912345678");
        busy.disposition = Disposition::Busy;
        let call = stored(verdict(&source, &busy));
        assert_eq!(call.disposition, "busy");
        assert_eq!(
            (call.price, call.cost, call.rating_error),
            (None, None, None)
        );
    }

    #[test]
    fn direction_rules_come_first_and_skip_drops_the_record() {
        let mut source = settings();
        source.direction_rules = vec![DirectionRule {
            field: "channel".into(),
            matches: Regex::new("^SIP/201-").unwrap(),
            direction: Direction::Skip,
        }];
        assert!(matches!(
            verdict(&source, &record("201", "912345678")),
            Verdict::Skip(Skip::Filtered)
        ));
        source.direction_rules[0].direction = Direction::Inbound;
        let call = stored(verdict(&source, &record("201", "910000001")));
        assert_eq!(call.direction, "inbound");
    }

    #[test]
    fn the_client_mapping_wins_over_the_ddi_and_unknown_parties_are_refused() {
        let mut source = settings();
        source.mapping.client_field = Some("accountcode".into());
        let call = stored(verdict(&source, &record("201", "912345678")));
        assert_eq!(call.client_id, "client-b");
        // client-b does not own the endpoint's extension: no endpoint on its call.
        assert_eq!(call.endpoint_id, None);

        // Two external numbers: nothing tells the direction.
        match verdict(&settings(), &record("+44207946000", "912345678")) {
            Verdict::Reject(message) => assert!(message.starts_with("direction:"), "{message}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        // Outbound from an extension nobody has, no default client.
        match verdict(&settings(), &record("299", "912345678")) {
            Verdict::Reject(message) => assert_eq!(message, "no client for record"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        source = settings();
        source.mapping.default_client = Some("client-b".into());
        assert_eq!(
            stored(verdict(&source, &record("299", "912345678"))).client_id,
            "client-b"
        );
    }

    #[test]
    fn the_carrier_mapping_reads_a_capture_group_and_falls_back_to_the_default() {
        let mut source = settings();
        source.mapping.carrier_field =
            Some(("channel".into(), Some(Regex::new("^SIP/([^-]+)-").unwrap())));
        let mut r = record("201", "912345678");
        r.carrier_hint = None;
        // "201" is no carrier code: nothing found, no default.
        assert_eq!(stored(verdict(&source, &r)).carrier_id, None);
        source.mapping.default_carrier = Some("carrier-1".into());
        assert_eq!(
            stored(verdict(&source, &r)).carrier_id.as_deref(),
            Some("carrier-1")
        );
    }

    #[test]
    fn callids_get_the_prefix_and_a_time_in_a_dst_gap_is_refused() {
        let source = SourceSettings {
            callid_prefix: "pbx2-".into(),
            ..settings()
        };
        let call = stored(verdict(&source, &record("201", "912345678")));
        assert_eq!(call.callid, "pbx2-1700000000.1");

        let mut gap = record("201", "912345678");
        gap.start = Start::Local(
            NaiveDate::from_ymd_opt(2026, 3, 29)
                .unwrap()
                .and_hms_opt(2, 30, 0)
                .unwrap(),
        );
        assert!(matches!(verdict(&source, &gap), Verdict::Reject(_)));
        let mut bad = record("201", "anonymous");
        bad.callee = "anonymous".into();
        match verdict(&source, &bad) {
            Verdict::Reject(m) => assert!(m.contains("callee"), "{m}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn webex_call_types_outside_the_list_are_internal() {
        let mut source = settings();
        source.format = Format::WebexCdr;
        let mut r = record("+34910000001", "+34912345678");
        r.fields = Fields::from_pairs(vec![("Call type".into(), "SIP_ENTERPRISE".into())]);
        assert!(matches!(
            verdict(&source, &r),
            Verdict::Skip(Skip::Internal)
        ));
        r.fields = Fields::from_pairs(vec![("Call type".into(), "SIP_NATIONAL".into())]);
        let call = stored(verdict(&source, &r));
        assert_eq!(call.direction, "outbound");
        assert_eq!(call.ddi_id.as_deref(), Some("ddi-1"));
    }
}
