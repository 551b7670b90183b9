//! Reading calls: which a caller may see, the filters a read takes, and the CSV export of
//! every matching call. Client administrators read their own client's calls only, without
//! the operator's costs and suppliers (cost, carrier, DDI provider, source address) nor the
//! rating plan (rating plans are closed to them); where a call came from (`source`) and how
//! it ended (`disposition`, `hangupCause`) everybody sees.

use crate::auth::{Caller, Role};
use crate::db::billable_calls::{self as calls, BillableCall, Filter};
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::fields::ts;
use crate::ids::CallId;
use crate::listing::ListParams;
use crate::report;

pub const FILTERS: &[&str] = &[
    "startTime[after]",
    "startTime[strictly_before]",
    "direction",
    "brand",
    "client",
    "carrier",
    "ddi",
    "ddiProvider",
    "endpointType",
    "endpointId",
    "callid",
    "disposition",
    "source",
    "destinationCountry",
    "number[start]",
    "number[partial]",
    "unrated",
];
pub const ORDER: &[&str] = &["startTime", "callid", "duration", "caller", "callee"];

/// The orders no index serves: a read sorted first by one of them sorts every call its
/// filter matches, so it takes at most [`SORT_CAP`] matching calls (a day or a client of a
/// busy brand, never its millions: a page answers in 100 ms on 10 000 000 calls). Start time
/// and callid follow the brand's indexes and stay unbounded.
pub const SORTED_WITHOUT_INDEX: &[&str] = &["duration", "caller", "callee"];
/// The most calls a read sorted by one of [`SORTED_WITHOUT_INDEX`] may match.
pub const SORT_CAP: i64 = 10_000;

/// Export columns, in CSV order; a caller who may not see costs gets them without
/// [`HIDDEN_FROM_CLIENTS`].
pub const COLUMNS: &[&str] = &[
    "id",
    "brand",
    "callid",
    "startTime",
    "duration",
    "billedSeconds",
    "caller",
    "callee",
    "direction",
    "client",
    "carrier",
    "ddi",
    "ddiProvider",
    "sourceIp",
    "endpointType",
    "endpointId",
    "cost",
    "price",
    "ratingError",
    "destinationName",
    "ratingPlan",
    "createdAt",
    "updatedAt",
    "source",
    "disposition",
    "hangupCause",
    "destinationCountry",
];
pub const HIDDEN_FROM_CLIENTS: &[&str] =
    &["cost", "carrier", "ddiProvider", "sourceIp", "ratingPlan"];

/// Whether the caller sees a call's costs and suppliers (everybody but client
/// administrators).
pub fn sees_costs(caller: &Caller) -> bool {
    caller.role != Role::Client
}

/// The read filter from `params`, narrowed to what the caller may see.
pub fn filter(caller: &Caller, params: &ListParams) -> AppResult<Filter> {
    let mut f = Filter {
        brand: params.filter_id("brand")?,
        client: params.filter_id("client")?,
        after: params.filter_time("startTime[after]")?,
        strictly_before: params.filter_time("startTime[strictly_before]")?,
        direction: params.filter_choice("direction", &["inbound", "outbound"])?,
        carrier: params.filter_id("carrier")?,
        ddi: params.filter_id("ddi")?,
        ddi_provider: params.filter_id("ddiProvider")?,
        endpoint_type: params.filter_choice("endpointType", crate::tenancy::ENDPOINT_TYPES)?,
        endpoint_id: params.filter_id("endpointId")?,
        callid: params.filter("callid").map(str::to_string),
        client_type: None,
        source: params.filter_id("source")?,
        disposition: params.filter_choice("disposition", calls::DISPOSITIONS)?,
        destination_countries: countries(params.filter("destinationCountry"))?,
        international: None,
        number_start: number(params, "number[start]")?,
        number_partial: number(params, "number[partial]")?,
        unrated: params.filter_bool("unrated")?.unwrap_or(false),
    };
    if !sees_costs(caller) && (f.carrier.is_some() || f.ddi_provider.is_some()) {
        return Err(AppError::invalid_query(
            "carrier and ddiProvider filters are not available to client administrators",
        ));
    }
    let scope = caller.list_scope(f.brand.take(), f.client.take());
    (f.brand, f.client) = (scope.brand, scope.client);
    if scope.nothing {
        // Outside the caller's tenant nothing matches: an id that can never exist.
        f.brand = Some(String::from("-"));
    }
    Ok(f)
}

/// A number filter (`number[start]`, `number[partial]`): what the caller or callee holds,
/// up to 40 characters. An unescaped `+` in a query string arrives as a space: read back.
fn number(params: &ListParams, name: &str) -> AppResult<Option<String>> {
    let Some(raw) = params.filter(name) else {
        return Ok(None);
    };
    let raw = match raw.strip_prefix(' ') {
        Some(rest) => format!("+{rest}"),
        None => raw.to_string(),
    };
    if raw.chars().count() > 40 {
        return Err(AppError::invalid_query(format!(
            "{name}: at most 40 characters"
        )));
    }
    Ok(Some(raw))
}

/// A `destinationCountry` filter: one ISO alpha-2 code or a comma list (`GB,IE`).
pub fn countries(raw: Option<&str>) -> AppResult<Option<Vec<String>>> {
    let Some(raw) = raw else { return Ok(None) };
    let codes: Vec<String> = raw.split(',').map(|c| c.trim().to_string()).collect();
    if let Some(bad) = codes
        .iter()
        .find(|c| !crate::calls::country::is_country_code(c))
    {
        return Err(AppError::invalid_query(format!(
            "destinationCountry: {bad:?} is not an ISO 3166-1 alpha-2 country code in capitals (e.g. GB, or a comma list GB,IE)"
        )));
    }
    Ok(Some(codes))
}

/// A page of the calls `filter` (made by [`filter`]) matches, with how many match in all.
/// Sorted by a column no index serves, more than [`SORT_CAP`] matching calls are refused.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    params: &ListParams,
) -> AppResult<(i64, Vec<BillableCall>)> {
    let total = calls::count(conn, filter)?;
    check_sort_cap(params, total)?;
    Ok((total, calls::page(conn, filter, params)?))
}

/// As [`list`], with the count stopped past `cap` (a result above `cap` means "more than
/// `cap`"): for pages a person reads, where a count of millions costs more than it says.
pub fn list_counted_up_to(
    conn: &mut DbConnection,
    filter: &Filter,
    params: &ListParams,
    cap: i64,
) -> AppResult<(i64, Vec<BillableCall>)> {
    let counted = calls::count_up_to(conn, filter, cap)?;
    if sorted_without_index(params).is_some() {
        // Exact below `cap`; past it, only past SORT_CAP too when `cap` is at least that.
        let matching = match counted <= cap || cap >= SORT_CAP {
            true => counted,
            false => calls::count_up_to(conn, filter, SORT_CAP)?,
        };
        check_sort_cap(params, matching)?;
    }
    let rows = calls::page(conn, filter, params)?;
    Ok((counted, rows))
}

/// The column `params` sort by first when no index serves it (see [`SORTED_WITHOUT_INDEX`]).
pub fn sorted_without_index(params: &ListParams) -> Option<&str> {
    params
        .order
        .first()
        .map(|(field, _)| field.as_str())
        .filter(|field| SORTED_WITHOUT_INDEX.contains(field))
}

/// Whether `e` is [`list`]'s refusal of a sort over more than [`SORT_CAP`] calls.
pub fn is_sort_refusal(e: &AppError) -> bool {
    e.code == "invalid_query" && e.fields.keys().any(|k| k.starts_with("_order["))
}

/// Refuses a sort no index serves over more than [`SORT_CAP`] calls (`matching` counts
/// them, or at least `SORT_CAP` + 1 of them). The error names `_order[field]` in `fields`.
fn check_sort_cap(params: &ListParams, matching: i64) -> AppResult<()> {
    let Some(field) = sorted_without_index(params) else {
        return Ok(());
    };
    if matching <= SORT_CAP {
        return Ok(());
    }
    let key = format!("_order[{field}]");
    let why = format!(
        "sorting by {field} takes at most {SORT_CAP} matching calls and more match: \
         narrow startTime[after]/startTime[strictly_before] or the other filters, or sort \
         by startTime"
    );
    let mut e = AppError::invalid_query(format!("{key}: {why}"));
    e.fields.insert(key, why);
    Err(e)
}

/// The call, if the caller may see it; a 404 otherwise.
pub fn find(conn: &mut DbConnection, caller: &Caller, id: &CallId) -> AppResult<BillableCall> {
    calls::find(conn, id)?
        .filter(|c| caller.sees_client(&c.brand_id, &c.client_id))
        .ok_or_else(AppError::not_found)
}

/// A call with what its ids name, as its reader may see it: the names of its client,
/// DDI, source and the import that brought it; for those who see costs also its carrier,
/// DDI provider and rating plan (client administrators get `None` there, and no cost).
pub struct CallDetail {
    pub call: BillableCall,
    pub client: Option<String>,
    pub ddi: Option<String>,
    pub carrier: Option<String>,
    pub ddi_provider: Option<String>,
    pub rating_plan: Option<(String, String)>,
    pub source: Option<String>,
    pub import: Option<crate::db::cdr_imports::CdrImport>,
    pub currency: String,
}

/// The call and its names, if the caller may see it; a 404 otherwise.
pub fn detail(conn: &mut DbConnection, caller: &Caller, id: &CallId) -> AppResult<CallDetail> {
    use crate::db;
    use crate::ids::{BrandId, CarrierId, CdrSourceId, ClientId, Id};
    let mut call = find(conn, caller, id)?;
    let full = sees_costs(caller);
    let client =
        db::clients::find(conn, &ClientId::from_db(call.client_id.clone()))?.map(|c| c.name);
    let ddi = match &call.ddi_id {
        Some(d) => db::ddis::find(conn, d)?.map(|d| d.ddi_e164),
        None => None,
    };
    let (mut carrier, mut ddi_provider, mut rating_plan) = (None, None, None);
    if full {
        if let Some(c) = &call.carrier_id {
            carrier = db::carriers::find(conn, &CarrierId::from_db(c.clone()))?.map(|c| c.name);
        }
        if let Some(p) = &call.ddi_provider_id {
            ddi_provider = db::ddi_providers::find(conn, p)?.map(|p| p.name);
        }
        if let Some(p) = &call.rating_plan_id {
            rating_plan = db::rating_plans::find(conn, p)?.map(|p| (p.id, p.name));
        }
    } else {
        call.cost = None;
        call.carrier_id = None;
        call.ddi_provider_id = None;
        call.source_ip = None;
        call.rating_plan_id = None;
    }
    let (mut source, mut import) = (None, None);
    if let Some(s) = &call.source_id {
        source = db::cdr_sources::find(conn, &CdrSourceId::from_db(s.clone()))?.map(|s| s.name);
        import = db::cdr_imports::running_at(conn, s, call.created_at)?;
    }
    let currency = db::brands::find(conn, &BrandId::from_db(call.brand_id.clone()))?
        .map(|b| b.currency)
        .unwrap_or_default();
    Ok(CallDetail {
        call,
        client,
        ddi,
        carrier,
        ddi_provider,
        rating_plan,
        source,
        import,
        currency,
    })
}

/// Rows fetched per chunk of the export: about 450 kB encoded, the most a slow reader's
/// stream holds at once (see `report::paced`).
const EXPORT_CHUNK_ROWS: i64 = 1000;

/// The CSV export of every call `filter` matches, produced a chunk at a time as it is
/// read (see `report::paced`): the header, then keyset chunks.
pub struct Export {
    filter: Filter,
    columns: Vec<&'static str>,
    cursor: Option<calls::Cursor>,
    header_sent: bool,
}

impl Export {
    /// The export for `caller` of what `filter` (made by [`filter`]) matches.
    pub fn new(caller: &Caller, filter: Filter) -> Export {
        let full = sees_costs(caller);
        Export {
            filter,
            columns: COLUMNS
                .iter()
                .copied()
                .filter(|c| full || !HIDDEN_FROM_CLIENTS.contains(c))
                .collect(),
            cursor: None,
            header_sent: false,
        }
    }
}

impl report::paced::Chunks for Export {
    fn next_chunk(&mut self, conn: &mut DbConnection) -> AppResult<Option<Vec<u8>>> {
        let mut writer = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
        let csv_error = |e: csv::Error| AppError::internal(format!("CSV: {e}"));
        if !self.header_sent {
            self.header_sent = true;
            writer.write_record(&self.columns).map_err(csv_error)?;
            return writer
                .into_inner()
                .map(Some)
                .map_err(|e| AppError::internal(e.to_string()));
        }
        let chunk = calls::next_chunk(conn, &self.filter, self.cursor.as_ref(), EXPORT_CHUNK_ROWS)?;
        let Some(last) = chunk.last() else {
            return Ok(None);
        };
        self.cursor = Some((last.start_time, last.callid.clone(), last.id.clone()));
        for call in &chunk {
            writer
                .write_record(csv_cells(call, &self.columns))
                .map_err(csv_error)?;
        }
        writer
            .into_inner()
            .map(Some)
            .map_err(|e| AppError::internal(e.to_string()))
    }
}

fn csv_cells(c: &BillableCall, columns: &[&str]) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    columns
        .iter()
        .map(|column| match *column {
            "id" => c.id.clone(),
            "brand" => c.brand_id.clone(),
            "callid" => c.callid.clone(),
            "startTime" => ts(c.start_time),
            "duration" => c.duration.clone(),
            "billedSeconds" => c.billed_seconds.to_string(),
            "caller" => c.caller.clone(),
            "callee" => c.callee.clone(),
            "direction" => c.direction.clone(),
            "client" => c.client_id.clone(),
            "carrier" => opt(&c.carrier_id),
            "ddi" => opt(&c.ddi_id),
            "ddiProvider" => opt(&c.ddi_provider_id),
            "sourceIp" => opt(&c.source_ip),
            "endpointType" => opt(&c.endpoint_type),
            "endpointId" => opt(&c.endpoint_id),
            "cost" => opt(&c.cost),
            "price" => opt(&c.price),
            "ratingError" => opt(&c.rating_error),
            "destinationName" => opt(&c.destination_name),
            "ratingPlan" => opt(&c.rating_plan_id),
            "createdAt" => ts(c.created_at),
            "updatedAt" => ts(c.updated_at),
            "source" => opt(&c.source_id),
            "disposition" => c.disposition.clone(),
            "hangupCause" => c.hangup_cause.map(|h| h.to_string()).unwrap_or_default(),
            "destinationCountry" => opt(&c.destination_country),
            _ => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::ingest::{ingest_body, Format};
    use crate::calls::rater::PlanCache;
    use crate::ids::Id;
    use crate::ops::testing::{brand, caller, database, operator_of, platform};
    use crate::ops::Resource;
    use crate::report::paced::Chunks;
    use crate::schedulers::tests::client;
    use crate::tenancy::{carriers::CarrierInput, Carriers};

    #[test]
    fn the_disposition_filter_takes_what_sources_store() {
        use crate::sources::Disposition::*;
        let stored = [Answered, Busy, NoAnswer, Failed, Cancelled, Congestion].map(|d| d.name());
        assert_eq!(stored, calls::DISPOSITIONS);
    }

    #[test]
    fn client_administrators_read_their_own_calls_without_costs() {
        let (_dir, mut conn) = database();
        let conn = &mut conn;
        let a = brand(conn, "A");
        let (mine, other) = (client(conn, &a, "Mine"), client(conn, &a, "Other"));
        let carrier = CarrierInput {
            brand: None,
            name: "Transit".into(),
            description: None,
            code: None,
        };
        let carrier = Carriers::create(conn, &operator_of(&a), carrier)
            .unwrap()
            .id;
        let call = |callid: &str, client: &str| {
            serde_json::json!({"callid": callid, "startTime": "2026-01-05T10:00:00Z",
                "duration": 60, "caller": "+34911000000", "callee": "+34600000000",
                "direction": "outbound", "client": client, "carrier": carrier})
        };
        let body = serde_json::json!([call("mine", &mine), call("other", &other)]).to_string();
        let cache = PlanCache::default();
        let summary = ingest_body(conn, &cache, &a, Format::Json, body).unwrap();
        assert_eq!(summary.accepted, 2, "{:?}", summary.errors);

        // Naming another client, or a brand's business filter, gets the client nothing.
        let admin = caller(Role::Client, Some(&a), Some(&mine));
        let mut params = ListParams::default();
        params.filters.insert("client".into(), other.clone());
        let (total, calls) = list(conn, &filter(&admin, &params).unwrap(), &params).unwrap();
        assert_eq!(total, 0, "{calls:?}");
        let everything = ListParams::default();
        let (total, calls) =
            list(conn, &filter(&admin, &everything).unwrap(), &everything).unwrap();
        assert_eq!((total, calls[0].callid.as_str()), (1, "mine"));
        params.filters.clear();
        params.filters.insert("carrier".into(), carrier.clone());
        assert_eq!(filter(&admin, &params).unwrap_err().code, "invalid_query");
        let (total, _) = list(
            conn,
            &filter(&platform(), &everything).unwrap(),
            &everything,
        )
        .unwrap();
        assert_eq!(total, 2);
        // Counting up to a cap: the same page, the count stopped one past the cap.
        let all = filter(&platform(), &everything).unwrap();
        for (cap, counted) in [(0, 1), (1, 2), (2, 2), (5, 2)] {
            let (n, rows) = list_counted_up_to(conn, &all, &everything, cap).unwrap();
            assert_eq!((n, rows.len()), (counted, 2), "cap {cap}");
        }

        let theirs = crate::db::billable_calls::list(conn, &Filter::default(), &everything)
            .unwrap()
            .1
            .into_iter()
            .find(|c| c.callid == "other")
            .unwrap();
        let theirs = CallId::from_db(theirs.id);
        assert_eq!(find(conn, &admin, &theirs).unwrap_err().code, "not_found");
        assert_eq!(
            find(conn, &operator_of(&a), &theirs).unwrap().callid,
            "other"
        );

        // Their export has neither the columns nor the values of costs and suppliers.
        let mut export = Export::new(&admin, filter(&admin, &everything).unwrap());
        let mut csv = String::new();
        while let Some(chunk) = export.next_chunk(conn).unwrap() {
            csv.push_str(&String::from_utf8(chunk).unwrap());
        }
        let header = csv.lines().next().unwrap();
        assert!(
            !header.contains("cost") && !header.contains("carrier"),
            "{header}"
        );
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(!csv.contains(&carrier), "{csv}");

        // Nor do they write calls.
        let err = crate::calls::brand_to_write(&admin, None).unwrap_err();
        assert_eq!(err.code, "forbidden");
    }
}
