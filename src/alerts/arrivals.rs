//! Destination and velocity rules, checked as calls are stored. Every arrival (posted,
//! uploaded, pushed, spooled, pulled, `callcsv import`) ends in
//! `billable_calls::insert_new_ids`, which hands the calls it stored to [`check_stored`]
//! inside its transaction: a call and the event it fires commit together, so a crash loses
//! neither alone and a retry (the calls then duplicates) fires nothing twice. Events group
//! per (rule, subject, 10-minute window); later calls of the same group join its event.
//!
//! A brand's enabled destination and velocity rules are kept in memory for [`FRESH_FOR`]
//! (dropped at once when a rule changes through this instance; a change made through
//! another instance applies within that time): a brand without such rules costs no query,
//! and destination rules cost none until a call is flagged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::alerts::evaluate::{bounds, event_of, Finding, Names, Subject, MAX_EVENT_CALLS};
use crate::alerts::rules::{DESTINATION, VELOCITY};
use crate::alerts::windows::{self, Window};
use crate::db::alerts::{self as store, AlertEvent, AlertRule, Started};
use crate::db::billable_calls::BillableCall;
use crate::db::rollups;
use crate::db::stats::{self as stats_db, StatsFilter};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};

/// How long a brand's rules serve arriving calls before they are read again.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Bumped by every change to a rule made in this process: what was kept before is read
/// again.
static RULES_CHANGED: AtomicU64 = AtomicU64::new(0);

/// Called by the operations that create, change or delete a rule.
pub fn rules_changed() {
    RULES_CHANGED.fetch_add(1, Ordering::SeqCst);
}

/// The rules kept per brand.
static KEPT: LazyLock<Mutex<HashMap<String, Kept>>> = LazyLock::new(Default::default);

struct Kept {
    at: Instant,
    /// [`RULES_CHANGED`] when they were read.
    generation: u64,
    watches: Arc<Vec<Watch>>,
}

impl Kept {
    fn fresh(&self) -> bool {
        self.at.elapsed() < FRESH_FOR && self.generation == RULES_CHANGED.load(Ordering::SeqCst)
    }
}

/// What a rule's scope looks at in a call.
struct Fields<'a> {
    client: &'a str,
    carrier: Option<&'a str>,
    endpoint_type: Option<&'a str>,
    endpoint_id: Option<&'a str>,
    caller: &'a str,
    country: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn of_call(c: &'a BillableCall) -> Fields<'a> {
        Fields {
            client: &c.client_id,
            carrier: c.carrier_id.as_deref(),
            endpoint_type: c.endpoint_type.as_deref(),
            endpoint_id: c.endpoint_id.as_deref(),
            caller: &c.caller,
            country: c.destination_country.as_deref(),
        }
    }

    fn of_started(c: &'a Started) -> Fields<'a> {
        Fields {
            client: &c.client_id,
            carrier: c.carrier_id.as_deref(),
            endpoint_type: c.endpoint_type.as_deref(),
            endpoint_id: c.endpoint_id.as_deref(),
            caller: &c.caller,
            country: c.destination_country.as_deref(),
        }
    }
}

/// A rule's scope filters, ready to apply to a call (outbound: destination and velocity
/// rules watch nothing else).
struct Scope {
    client: Option<String>,
    /// With a `clientType`: the brand's clients of that type when the rules were read.
    clients: Option<HashSet<String>>,
    carrier: Option<String>,
    endpoint_type: Option<String>,
    endpoint_id: Option<String>,
    countries: Option<HashSet<String>>,
}

impl Scope {
    /// Whether the scope takes every (outbound) call of the brand.
    fn is_everything(&self) -> bool {
        self.client.is_none()
            && self.clients.is_none()
            && self.carrier.is_none()
            && self.endpoint_type.is_none()
            && self.endpoint_id.is_none()
            && self.countries.is_none()
    }

    fn covers(&self, f: &Fields) -> bool {
        let same = |want: &Option<String>, got: Option<&str>| {
            want.as_deref().is_none_or(|w| got == Some(w))
        };
        same(&self.client, Some(f.client))
            && self.clients.as_ref().is_none_or(|c| c.contains(f.client))
            && same(&self.carrier, f.carrier)
            && same(&self.endpoint_type, f.endpoint_type)
            && same(&self.endpoint_id, f.endpoint_id)
            && self
                .countries
                .as_ref()
                .is_none_or(|c| f.country.is_some_and(|k| c.contains(k)))
    }
}

/// A destination rule's list.
#[derive(Debug, Clone)]
pub struct Destinations {
    /// `block`: calls to the list are flagged; `allow`: calls elsewhere.
    pub block: bool,
    pub countries: Vec<String>,
    pub prefixes: Vec<String>,
}

impl Destinations {
    pub fn of(rule: &AlertRule) -> Destinations {
        let list = |s: &Option<String>| s.as_deref().map(store::split_list).unwrap_or_default();
        Destinations {
            block: rule.mode.as_deref() == Some("block"),
            countries: list(&rule.countries),
            prefixes: list(&rule.prefixes),
        }
    }

    /// Is a call to `callee`, in `country` (None: not placed), flagged? A call no country
    /// or prefix of the list covers is outside an allow list, however unknown its
    /// destination.
    pub fn flags(&self, callee: &str, country: Option<&str>) -> bool {
        let listed = country.is_some_and(|c| self.countries.iter().any(|k| k == c))
            || self.prefixes.iter().any(|p| callee.starts_with(p.as_str()));
        listed == self.block
    }

    /// The list as an event's threshold shows it: `block: CU, +882`.
    pub fn describe(&self) -> String {
        let mode = if self.block { "block" } else { "allow" };
        let all: Vec<&str> = self
            .countries
            .iter()
            .chain(&self.prefixes)
            .map(String::as_str)
            .collect();
        format!("{mode}: {}", all.join(", "))
    }
}

/// Destination lists judged together: a call's country is looked up once, and its number
/// once per prefix length, whatever the number of lists (a brand may have hundreds).
/// Gives what [`Destinations::flags`] gives for each list.
struct DestinationIndex<'a> {
    /// The lists, each with the index the caller knows it by.
    lists: Vec<(usize, &'a Destinations)>,
    /// Country → positions in `lists` of the lists naming it.
    by_country: HashMap<&'a str, Vec<usize>>,
    /// Prefix → positions in `lists` of the lists naming it.
    by_prefix: HashMap<&'a str, Vec<usize>>,
    /// The prefixes' lengths, each once.
    lengths: Vec<usize>,
}

impl<'a> DestinationIndex<'a> {
    fn new(lists: Vec<(usize, &'a Destinations)>) -> DestinationIndex<'a> {
        let mut by_country: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_prefix: HashMap<&str, Vec<usize>> = HashMap::new();
        for (at, (_, list)) in lists.iter().enumerate() {
            for c in &list.countries {
                by_country.entry(c.as_str()).or_default().push(at);
            }
            for p in &list.prefixes {
                by_prefix.entry(p.as_str()).or_default().push(at);
            }
        }
        let mut lengths: Vec<usize> = by_prefix.keys().map(|p| p.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        DestinationIndex {
            lists,
            by_country,
            by_prefix,
            lengths,
        }
    }

    /// The indexes of the lists that flag a call to `callee` in `country`, into `flagged`
    /// (cleared first; `listed` is scratch space).
    fn flagged(
        &self,
        callee: &str,
        country: Option<&str>,
        listed: &mut Vec<usize>,
        flagged: &mut Vec<usize>,
    ) {
        listed.clear();
        flagged.clear();
        if let Some(found) = country.and_then(|c| self.by_country.get(c)) {
            listed.extend(found);
        }
        for &len in &self.lengths {
            if let Some(found) = callee.get(..len).and_then(|p| self.by_prefix.get(p)) {
                listed.extend(found);
            }
        }
        listed.sort_unstable();
        listed.dedup();
        for (at, (index, list)) in self.lists.iter().enumerate() {
            // A block list flags what it names, an allow list what it does not.
            if listed.binary_search(&at).is_ok() == list.block {
                flagged.push(*index);
            }
        }
    }
}

/// Whose calls a velocity rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Per {
    Client,
    Endpoint,
    Caller,
}

impl Per {
    fn parse(per: Option<&str>) -> Option<Per> {
        match per? {
            "client" => Some(Per::Client),
            "endpoint" => Some(Per::Endpoint),
            "caller" => Some(Per::Caller),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Per::Client => "client",
            Per::Endpoint => "endpoint",
            Per::Caller => "caller",
        }
    }

    /// The call's subject; none for a call without an endpoint when counting per endpoint.
    fn subject<'a>(self, f: &Fields<'a>) -> Option<&'a str> {
        match self {
            Per::Client => Some(f.client),
            Per::Endpoint => f.endpoint_id,
            Per::Caller => Some(f.caller),
        }
    }
}

enum Check {
    Destination(Destinations),
    Velocity {
        per: Per,
        max_calls: i64,
        minutes: i64,
    },
}

/// An enabled rule as arriving calls are checked against it.
struct Watch {
    rule: AlertRule,
    scope: Scope,
    check: Check,
}

impl Watch {
    /// `types`: client id → type, read when a rule filters by client type.
    fn of(rule: AlertRule, types: &HashMap<String, Vec<String>>) -> Option<Watch> {
        let check = match rule.kind.as_str() {
            DESTINATION => Check::Destination(Destinations::of(&rule)),
            VELOCITY => Check::Velocity {
                per: Per::parse(rule.per.as_deref())?,
                max_calls: i64::from(rule.max_calls?),
                minutes: i64::from(rule.minutes?),
            },
            _ => return None,
        };
        let scope = Scope {
            client: rule.client_id.clone(),
            clients: rule
                .client_type
                .as_ref()
                .filter(|_| rule.client_id.is_none())
                .map(|t| types.get(t).into_iter().flatten().cloned().collect()),
            carrier: rule.carrier_id.clone(),
            endpoint_type: rule.endpoint_type.clone(),
            endpoint_id: rule.endpoint_id.clone(),
            countries: rule
                .destination_countries
                .as_deref()
                .map(|c| store::split_list(c).into_iter().collect()),
        };
        Some(Watch { rule, scope, check })
    }
}

/// The brand's enabled destination and velocity rules: kept, or read (and kept).
fn watches_of(conn: &mut DbConnection, brand: &str) -> AppResult<Arc<Vec<Watch>>> {
    let generation = RULES_CHANGED.load(Ordering::SeqCst);
    if let Some(kept) = KEPT
        .lock()
        .map_err(AppError::internal)?
        .get(brand)
        .filter(|k| k.fresh())
    {
        return Ok(kept.watches.clone());
    }
    let rules = store::enabled_rules_of_brand(conn, brand, &[DESTINATION, VELOCITY])?;
    let mut types: HashMap<String, Vec<String>> = HashMap::new();
    for rule in rules.iter().filter(|r| r.client_id.is_none()) {
        if let Some(t) = &rule.client_type {
            if !types.contains_key(t) {
                types.insert(t.clone(), db::clients::ids_of_type(conn, brand, t)?);
            }
        }
    }
    let watches = Arc::new(
        rules
            .into_iter()
            .filter_map(|r| Watch::of(r, &types))
            .collect::<Vec<_>>(),
    );
    let mut kept = KEPT.lock().map_err(AppError::internal)?;
    kept.retain(|_, k| k.fresh());
    kept.insert(
        brand.to_string(),
        Kept {
            at: Instant::now(),
            generation,
            watches: watches.clone(),
        },
    );
    Ok(watches)
}

/// Checks calls just stored (in the caller's transaction) against their brands'
/// destination and velocity rules and records or extends the events they fire; returns
/// how many events were recorded.
pub fn check_stored(conn: &mut DbConnection, calls: &[&BillableCall]) -> AppResult<usize> {
    let mut by_brand: BTreeMap<&str, Vec<&BillableCall>> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.direction == "outbound") {
        by_brand.entry(&call.brand_id).or_default().push(call);
    }
    let mut recorded = 0;
    for (brand, calls) in by_brand {
        let watches = watches_of(conn, brand)?;
        if !watches.is_empty() {
            recorded += check_brand(conn, brand, &watches, &calls)?;
        }
    }
    Ok(recorded)
}

/// A velocity rule's subjects among the arrived calls, each with the first and last start.
type Arrived<'a> = HashMap<&'a str, (NaiveDateTime, NaiveDateTime)>;

/// The subjects of `calls` per `per`, each with its first and last start.
fn arrivals_of<'a>(calls: impl Iterator<Item = &'a BillableCall>, per: Per) -> Arrived<'a> {
    let mut subjects = Arrived::new();
    for call in calls {
        if let Some(s) = per.subject(&Fields::of_call(call)) {
            let t = call.start_time;
            let span = subjects.entry(s).or_insert((t, t));
            span.0 = span.0.min(t);
            span.1 = span.1.max(t);
        }
    }
    subjects
}

fn check_brand<'a>(
    conn: &mut DbConnection,
    brand: &str,
    watches: &[Watch],
    calls: &[&'a BillableCall],
) -> AppResult<usize> {
    // What each rule has to look at, found before any query: (rule, client, window) →
    // flagged calls; velocity rule → its subjects.
    let mut flagged: BTreeMap<(usize, &str, NaiveDateTime), Vec<&'a BillableCall>> =
        BTreeMap::new();
    let mut arrived: Vec<(usize, Rc<Arrived>)> = vec![];
    let mut unscoped: HashMap<Per, Rc<Arrived>> = HashMap::new();
    let mut flag = |i: usize, call: &'a BillableCall| {
        let window = windows::group_window(call.start_time);
        flagged
            .entry((i, &call.client_id, window.from))
            .or_default()
            .push(call);
    };
    // Destination rules watching every call: each call is judged by all of them at once
    // (a call's fields are read once, not once per rule).
    let everywhere: Vec<(usize, &Destinations)> = watches
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match &w.check {
            Check::Destination(list) if w.scope.is_everything() => Some((i, list)),
            _ => None,
        })
        .collect();
    if !everywhere.is_empty() {
        let index = DestinationIndex::new(everywhere);
        let (mut listed, mut flagged_by) = (vec![], vec![]);
        for &call in calls {
            let country = call.destination_country.as_deref();
            index.flagged(&call.callee, country, &mut listed, &mut flagged_by);
            for &i in &flagged_by {
                flag(i, call);
            }
        }
    }
    for (i, watch) in watches.iter().enumerate() {
        let everything = watch.scope.is_everything();
        let in_scope = calls
            .iter()
            .filter(|c| everything || watch.scope.covers(&Fields::of_call(c)));
        match &watch.check {
            Check::Destination(_) if everything => {}
            Check::Destination(list) => {
                for &call in in_scope {
                    if list.flags(&call.callee, call.destination_country.as_deref()) {
                        flag(i, call);
                    }
                }
            }
            Check::Velocity { per, .. } => {
                // Most rules watch every call: their arrivals are gathered once per kind.
                let subjects = if everything {
                    unscoped
                        .entry(*per)
                        .or_insert_with(|| Rc::new(arrivals_of(calls.iter().copied(), *per)))
                        .clone()
                } else {
                    Rc::new(arrivals_of(in_scope.copied(), *per))
                };
                if !subjects.is_empty() {
                    arrived.push((i, subjects));
                }
            }
        }
    }
    if flagged.is_empty() && arrived.is_empty() {
        return Ok(0);
    }
    store::lock_brand_events(conn, brand)?;
    let now = db::now();
    let mut names = Names::default();
    let mut found: Vec<(AlertEvent, Merge)> = vec![];

    for ((i, client, from), mut calls) in flagged {
        let Check::Destination(list) = &watches[i].check else {
            continue;
        };
        calls.sort_unstable_by(|a, b| (a.start_time, &a.callid).cmp(&(b.start_time, &b.callid)));
        let subject = names.subject(conn, "client", client)?;
        let ids: Vec<String> = calls
            .iter()
            .take(MAX_EVENT_CALLS as usize)
            .map(|c| c.callid.clone())
            .collect();
        let added = calls.len() as i64;
        let window = windows::group_window(from);
        let finding = fired(subject, window, added, list.describe());
        let event = event_of(&watches[i].rule, finding, window, ids.clone(), now);
        found.push((event, Merge::Add { added, ids }));
    }

    // Velocity: per kind of subject, first the subjects that may have too many calls (a
    // count over an index, against the lowest limit of the kind's rules), then those
    // subjects' calls around the new ones, read once for every rule of the kind.
    let mut wanted: BTreeMap<Per, Wanted> = BTreeMap::new();
    // Rules watching every call share their arrivals: each set is added once.
    let mut added: HashSet<*const Arrived> = HashSet::new();
    for (i, subjects) in &arrived {
        let Check::Velocity {
            per,
            minutes,
            max_calls,
        } = watches[*i].check
        else {
            continue;
        };
        let w = wanted.entry(per).or_insert(Wanted {
            subjects: HashSet::new(),
            first: NaiveDateTime::MAX,
            last: NaiveDateTime::MIN,
            minutes,
            max_calls,
        });
        w.minutes = w.minutes.max(minutes);
        w.max_calls = w.max_calls.min(max_calls);
        if added.insert(Rc::as_ptr(subjects)) {
            w.subjects.extend(subjects.keys().copied());
            for &(first, last) in subjects.values() {
                w.first = w.first.min(first);
                w.last = w.last.max(last);
            }
        }
    }
    for (per, w) in wanted {
        let reach = chrono::Duration::minutes(w.minutes);
        let range = (w.first - reach, w.last + reach);
        let subjects: Vec<&str> = w.subjects.into_iter().collect();
        let busy = busy_subjects(conn, brand, per, &subjects, range, w.minutes, w.max_calls)?;
        if busy.is_empty() {
            continue;
        }
        let busy: Vec<&str> = busy.iter().map(String::as_str).collect();
        let rows = store::outbound_starts(conn, brand, per.name(), &busy, range.0, range.1)?;
        let mut by_subject: HashMap<&str, Vec<&Started>> = HashMap::new();
        for row in &rows {
            if let Some(s) = per.subject(&Fields::of_started(row)) {
                by_subject.entry(s).or_default().push(row);
            }
        }
        for (i, subjects) in &arrived {
            let watch = &watches[*i];
            let Check::Velocity {
                per: rule_per,
                max_calls,
                minutes,
            } = watch.check
            else {
                continue;
            };
            if rule_per != per {
                continue;
            }
            for (&subject, stored) in &by_subject {
                let Some((first, last)) = subjects.get(subject) else {
                    continue;
                };
                let theirs: Vec<&Started> = stored
                    .iter()
                    .copied()
                    .filter(|r| watch.scope.covers(&Fields::of_started(r)))
                    .collect();
                let starts: Vec<NaiveDateTime> = theirs.iter().map(|r| r.start_time).collect();
                // The fullest trailing window per 10-minute group.
                let mut fullest: BTreeMap<NaiveDateTime, std::ops::Range<usize>> = BTreeMap::new();
                let until = *last + chrono::Duration::minutes(minutes);
                for range in windows::over_rate(&starts, *first, until, minutes, max_calls) {
                    let group = windows::group_window(starts[range.end - 1]).from;
                    let best = fullest.entry(group).or_insert(range.clone());
                    if range.len() > best.len() {
                        *best = range;
                    }
                }
                for (from, range) in fullest {
                    let count = range.len() as i64;
                    let ids: Vec<String> = theirs[range]
                        .iter()
                        .rev()
                        .take(MAX_EVENT_CALLS as usize)
                        .map(|r| r.callid.clone())
                        .collect();
                    let subject = match per {
                        Per::Caller => Subject {
                            kind: per.name().into(),
                            id: subject.to_string(),
                            name: subject.to_string(),
                        },
                        _ => names.subject(conn, per.name(), subject)?,
                    };
                    let window = windows::group_window(from);
                    let finding = fired(subject, window, count, max_calls.to_string());
                    let event = event_of(&watch.rule, finding, window, ids.clone(), now);
                    found.push((event, Merge::Fuller { count, ids }));
                }
            }
        }
    }
    record_all(conn, found)
}

/// Up to this many subjects of a kind have their start times read without a count first.
const FEW_SUBJECTS: usize = 100;

/// Those of `subjects` that may have more than `max_calls` calls within `minutes` in
/// `range`, judged from counts that are at least what a rule counts (calls of either
/// direction, in any scope). Many subjects (caller numbers, mostly a call or two each) are
/// first counted over the whole range from an index. A few (clients, endpoints) are judged
/// from the statistics' quarter-hours first ([`quarters_may_exceed`]: a few thousand rows
/// for a month, not every call). Then the start times of those left show whether some
/// `minutes` hold too many ([`windows::exceeds`]); only subjects that pass are read call by
/// call.
fn busy_subjects(
    conn: &mut DbConnection,
    brand: &str,
    per: Per,
    subjects: &[&str],
    range: (NaiveDateTime, NaiveDateTime),
    minutes: i64,
    max_calls: i64,
) -> AppResult<Vec<String>> {
    let counted: Vec<String>;
    let over: Vec<&str> = if subjects.len() > FEW_SUBJECTS {
        counted = store::subjects_over(conn, brand, per.name(), subjects, range, max_calls)?;
        counted.iter().map(String::as_str).collect()
    } else if per == Per::Caller {
        subjects.to_vec()
    } else {
        let mut left = vec![];
        for &subject in subjects {
            if quarters_may_exceed(conn, brand, per, subject, range, minutes, max_calls)? {
                left.push(subject);
            }
        }
        left
    };
    let mut busy = vec![];
    for subject in over {
        let times = store::start_times(conn, brand, per.name(), subject, range)?;
        if windows::exceeds(&times, minutes, max_calls) {
            busy.push(subject.to_string());
        }
    }
    Ok(busy)
}

/// Whether a client's or endpoint's calls per quarter-hour in `range` (widened to whole
/// quarter-hours), as the statistics keep them (rollup and journal: every call stored,
/// this transaction's too), may put more than `max_calls` within some `minutes`.
fn quarters_may_exceed(
    conn: &mut DbConnection,
    brand: &str,
    per: Per,
    subject: &str,
    (after, before): (NaiveDateTime, NaiveDateTime),
    minutes: i64,
    max_calls: i64,
) -> AppResult<bool> {
    let quarter = rollups::BUCKET_SECONDS;
    let grid = |t: NaiveDateTime, up: bool| {
        let s = t.and_utc().timestamp();
        let q = s.div_euclid(quarter) + i64::from(up && s.rem_euclid(quarter) != 0);
        chrono::DateTime::from_timestamp(q * quarter, 0).map(|t| t.naive_utc())
    };
    let mut filter = StatsFilter {
        after: grid(after, false),
        strictly_before: grid(before, true),
        brand: Some(brand.to_string()),
        ..StatsFilter::default()
    };
    match per {
        Per::Client => filter.client = Some(subject.to_string()),
        _ => filter.endpoint_id = Some(subject.to_string()),
    }
    // Per endpoint value, so the per-client endpoint projection answers (one row per
    // quarter-hour for a client's calls without endpoints).
    let mut per_quarter: BTreeMap<i64, i64> = BTreeMap::new();
    for g in stats_db::sums(conn, &filter, true, None, &["endpoint_id"])? {
        *per_quarter.entry(g.bucket.unwrap_or_default()).or_default() += g.sums.calls;
    }
    let counts: Vec<(i64, i64)> = per_quarter.into_iter().collect();
    Ok(windows::buckets_may_exceed(
        &counts,
        quarter / 60,
        minutes,
        max_calls,
    ))
}

/// What a velocity rule's kind of subject needs read: its subjects with new calls, the
/// first and last of those calls, the longest window and the lowest limit of its rules.
struct Wanted<'a> {
    subjects: HashSet<&'a str>,
    first: NaiveDateTime,
    last: NaiveDateTime,
    minutes: i64,
    max_calls: i64,
}

/// How a finding changes the event its (rule, subject, window) already has.
enum Merge {
    /// Destination: `added` more calls, `ids` among them.
    Add { added: i64, ids: Vec<String> },
    /// Velocity: a window of `count` calls, which replaces a less full one.
    Fuller { count: i64, ids: Vec<String> },
}

impl Merge {
    /// The event's new measured value and calls, if it changes.
    fn apply(&self, old: &AlertEvent) -> Option<(String, String)> {
        let before = old.measured.parse::<i64>().unwrap_or(0);
        match self {
            Merge::Add { added, ids } => {
                Some(((before + added).to_string(), joined_calls(&old.calls, ids)))
            }
            Merge::Fuller { count, ids } => {
                (*count > before).then(|| (count.to_string(), ids.join(",")))
            }
        }
    }
}

/// Records the events found, all at once; those whose (rule, subject, window) has an
/// event already are merged into it one by one. Returns how many were recorded.
fn record_all(conn: &mut DbConnection, found: Vec<(AlertEvent, Merge)>) -> AppResult<usize> {
    if found.is_empty() {
        return Ok(0);
    }
    let (events, merges): (Vec<AlertEvent>, Vec<Merge>) = found.into_iter().unzip();
    let recorded: HashSet<String> = store::record_events(conn, &events)?.into_iter().collect();
    for (event, merge) in events.iter().zip(&merges) {
        if !recorded.contains(&event.id) {
            store::merge_into(conn, event, |old| merge.apply(old))?;
        }
    }
    Ok(recorded.len())
}

/// The finding of an arrival check that fired: `measured` calls in `window`.
fn fired(subject: Subject, window: Window, measured: i64, threshold: String) -> Finding {
    Finding {
        subject: Some(subject),
        window: bounds(window),
        measured: Some(measured.to_string()),
        threshold,
        previous: None,
        calls: measured,
        fires: true,
        window_bounds: Some(window),
    }
}

/// An event's stored callids with `more` added (each once), at most [`MAX_EVENT_CALLS`].
fn joined_calls(stored: &str, more: &[String]) -> String {
    let mut all = store::split_list(stored);
    for id in more {
        if all.len() as i64 >= MAX_EVENT_CALLS {
            break;
        }
        if !all.contains(id) {
            all.push(id.clone());
        }
    }
    all.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(block: bool, countries: &[&str], prefixes: &[&str]) -> Destinations {
        Destinations {
            block,
            countries: countries.iter().map(|s| s.to_string()).collect(),
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn destination_lists_judged_together_flag_what_each_flags() {
        let lists = [
            list(true, &["CU", "GB"], &["+882"]),
            list(true, &["GB"], &["+88213", "+53"]),
            list(false, &["ES"], &["+34"]),
            list(false, &[], &["+1", "+882"]),
            list(true, &[], &[]),
            list(false, &[], &[]),
        ];
        let index =
            DestinationIndex::new(lists.iter().enumerate().map(|(i, l)| (i * 10, l)).collect());
        let calls = [
            ("+5352345678", Some("CU")),
            ("+442071234567", Some("GB")),
            ("+882135551234", None),
            ("+882165551234", None),
            ("+34911000001", Some("ES")),
            ("+34911000001", None),
            ("+12025550100", Some("US")),
            ("1001", None),
            ("+", None),
            ("", Some("GB")),
        ];
        let (mut listed, mut flagged) = (vec![], vec![]);
        for (callee, country) in calls {
            index.flagged(callee, country, &mut listed, &mut flagged);
            let each: Vec<usize> = lists
                .iter()
                .enumerate()
                .filter(|(_, l)| l.flags(callee, country))
                .map(|(i, _)| i * 10)
                .collect();
            assert_eq!(flagged, each, "{callee} {country:?}");
        }
    }

    #[test]
    fn destination_lists_flag_the_right_calls() {
        let allow = list(false, &["GB", "IE"], &["+88213"]);
        assert!(!allow.flags("+442071234567", Some("GB")));
        assert!(allow.flags("+5352345678", Some("CU")));
        // A prefix of the allow list lets a call through whatever its country.
        assert!(!allow.flags("+882135551234", None));
        assert!(allow.flags("+882165551234", None));
        // Unplaced numbers are outside an allow list.
        assert!(allow.flags("1001", None));
        let block = list(true, &["CU"], &["+882"]);
        assert!(block.flags("+5352345678", Some("CU")));
        assert!(block.flags("+882135551234", None));
        assert!(!block.flags("+442071234567", Some("GB")));
        assert!(!block.flags("1001", None));
        assert_eq!(block.describe(), "block: CU, +882");
        assert_eq!(allow.describe(), "allow: GB, IE, +88213");
    }

    #[test]
    fn joined_calls_stay_unique_and_bounded() {
        let more: Vec<String> = ["b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(joined_calls("a,b", &more), "a,b,c");
        assert_eq!(joined_calls("", &more), "b,c");
        let full: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        assert_eq!(joined_calls(&full.join(","), &more), full.join(","));
    }
}
