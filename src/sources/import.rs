//! Importing a source's records: read them from any byte stream, resolve each
//! ([`resolve`](crate::sources::resolve)), and store the calls in batches, each batch in one
//! transaction with the import's counts (and, for a spool file, its checkpoint), so what is
//! counted is what is stored whatever stops the import. Memory stays flat: a batch at a
//! time, the first [`KEEP_ERRORS`] errors.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read};
use std::rc::Rc;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::calls::directory::Directory;
use crate::calls::rater::{is_unrated, PlanCache, Rater};
use crate::db::billable_calls::{self, BillableCall};
use crate::db::cdr_imports::{self, CdrImport, Counts};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::sources::resolve::{Codes, Context, Skip, Verdict};
use crate::sources::settings::SourceSettings;
use crate::sources::{self, Outcome, ReadOptions};

/// Records stored per transaction.
pub const BATCH: usize = 2_000;
/// Errors kept on an import (all are counted).
pub const KEEP_ERRORS: usize = 1_000;

/// How records arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Upload,
    Push,
    Spool,
    Pull,
    Cli,
}

impl Origin {
    pub const ALL: [Origin; 5] = [
        Origin::Upload,
        Origin::Push,
        Origin::Spool,
        Origin::Pull,
        Origin::Cli,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Origin::Upload => "upload",
            Origin::Push => "push",
            Origin::Spool => "spool",
            Origin::Pull => "pull",
            Origin::Cli => "cli",
        }
    }

    pub fn from_name(name: &str) -> Option<Origin> {
        Origin::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// A source with everything its records are resolved against, loaded once per import.
pub struct Loaded {
    pub settings: SourceSettings,
    directory: Directory,
    codes: Codes,
    rater: Rater,
}

impl Loaded {
    pub fn load(
        conn: &mut DbConnection,
        cache: &PlanCache,
        settings: SourceSettings,
    ) -> AppResult<Loaded> {
        let brand = settings.brand_id.to_string();
        Ok(Loaded {
            directory: Directory::load(conn, &brand)?,
            codes: Codes::load(conn, &brand)?,
            rater: Rater::load(conn, cache, &brand)?,
            settings,
        })
    }

    fn context(&self) -> Context<'_> {
        Context {
            source: &self.settings,
            directory: &self.directory,
            codes: &self.codes,
            rater: &self.rater,
        }
    }

    /// A new import row of this source, `running`.
    pub fn new_import(&self, origin: Origin, file_name: Option<String>) -> CdrImport {
        let now = db::now();
        CdrImport {
            id: db::new_id(),
            brand_id: self.settings.brand_id.to_string(),
            source_id: self.settings.id.clone(),
            origin: origin.name().into(),
            file_name,
            bytes: 0,
            sha256: None,
            status: "running".into(),
            started_at: now,
            finished_at: None,
            records: 0,
            accepted: 0,
            duplicates: 0,
            rejected: 0,
            unrated: 0,
            skipped_unanswered: 0,
            skipped_internal: 0,
            skipped_leg: 0,
            skipped_filtered: 0,
            errors: "[]".into(),
            error_count: 0,
            failure: None,
            push_hour: None,
            updated_at: now,
        }
    }
}

/// Records resolved and waiting to be stored together.
#[derive(Default)]
pub struct Batch {
    calls: Vec<BillableCall>,
    counts: Counts,
    errors: Vec<serde_json::Value>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// The errors kept so far (the first [`KEEP_ERRORS`]).
    pub fn errors(&self) -> &[serde_json::Value] {
        &self.errors
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.counts == Counts::default()
    }

    fn reject(&mut self, line: u64, callid: Option<&str>, message: String) {
        self.counts.rejected += 1;
        self.counts.error_count += 1;
        // Only the first errors are kept on the import; no need to hold more.
        if self.errors.len() < KEEP_ERRORS {
            self.errors
                .push(json!({"line": line, "callid": callid, "message": message}));
        }
    }

    /// Takes one parsed (or unparseable) record.
    pub fn take(&mut self, loaded: &Loaded, outcome: Outcome) {
        self.counts.records += 1;
        let record = match outcome {
            Ok(record) => record,
            Err(rejection) => {
                return self.reject(
                    rejection.line,
                    rejection.callid.as_deref(),
                    rejection.message,
                )
            }
        };
        match loaded.context().resolve(&record) {
            Verdict::Store(call) => self.calls.push(*call),
            Verdict::Skip(Skip::Unanswered) => self.counts.skipped_unanswered += 1,
            Verdict::Skip(Skip::Internal) => self.counts.skipped_internal += 1,
            Verdict::Skip(Skip::Leg) => self.counts.skipped_leg += 1,
            Verdict::Skip(Skip::Filtered) => self.counts.skipped_filtered += 1,
            Verdict::Reject(message) => self.reject(record.line, Some(&record.callid), message),
        }
    }

    /// Stores the batch into `import_id` in one transaction, with `also` (a checkpoint)
    /// inside it; returns what it added to the import's counts and empties the batch.
    pub fn store(
        &mut self,
        conn: &mut DbConnection,
        import_id: &str,
        bytes: i64,
        also: impl FnOnce(&mut DbConnection) -> AppResult<()>,
    ) -> AppResult<Counts> {
        let part = Part {
            import_id: import_id.to_string(),
            batch: std::mem::take(self),
            bytes,
        };
        Ok(store_together(conn, vec![part], also)?[0])
    }
}

/// A batch on its way into an import, with the bytes of input it covers.
pub struct Part {
    pub import_id: String,
    pub batch: Batch,
    pub bytes: i64,
}

/// Stores several batches in one transaction, each counted in its own import, with `also`
/// inside the transaction; returns each batch's counts, in order. Pushes arriving together
/// share one transaction this way (see [`crate::sources::push`]).
pub fn store_together(
    conn: &mut DbConnection,
    mut parts: Vec<Part>,
    also: impl FnOnce(&mut DbConnection) -> AppResult<()>,
) -> AppResult<Vec<Counts>> {
    // One INSERT for all the calls; each part remembers which of them are its own.
    let mut calls = vec![];
    let mut ranges = vec![];
    for part in &mut parts {
        let start = calls.len();
        calls.append(&mut part.batch.calls);
        ranges.push(start..calls.len());
    }
    db::transaction(conn, |conn| {
        let inserted: HashSet<String> = billable_calls::insert_new_ids(conn, &calls)?
            .into_iter()
            .collect();
        let mut each = Vec::with_capacity(parts.len());
        // Per import, in id order: two instances storing into the same imports lock their
        // rows in the same order.
        let mut imports: BTreeMap<&str, (Counts, Vec<serde_json::Value>, i64)> = BTreeMap::new();
        for (part, range) in parts.iter().zip(ranges) {
            let mut counts = part.batch.counts;
            let stored: Vec<&BillableCall> = calls[range.clone()]
                .iter()
                .filter(|c| inserted.contains(&c.id))
                .collect();
            counts.accepted += stored.len() as i64;
            counts.duplicates += (range.len() - stored.len()) as i64;
            // Unrated: stored outbound calls without a price (inbound calls have none by
            // design, unanswered ones are never rated).
            counts.unrated += stored
                .iter()
                .filter(|c| is_unrated(&c.direction, &c.disposition, c.price.as_deref()))
                .count() as i64;
            let import = imports.entry(&part.import_id).or_default();
            add_counts(&mut import.0, &counts);
            import.1.extend(part.batch.errors.iter().cloned());
            import.2 += part.bytes;
            each.push(counts);
        }
        for (id, (counts, errors, bytes)) in &imports {
            cdr_imports::add(conn, id, counts, errors, KEEP_ERRORS, *bytes)?;
        }
        also(conn)?;
        Ok(each)
    })
}

/// What a running import has done so far (for a progress bar).
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Bytes read from the input as it arrives (compressed, when it is).
    pub bytes: u64,
    pub counts: Counts,
}

/// Counts and hashes the bytes an input yields.
struct Tally<R> {
    inner: R,
    seen: Rc<RefCell<(u64, Sha256)>>,
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut seen = self.seen.borrow_mut();
        seen.0 += n as u64;
        seen.1.update(&buf[..n]);
        Ok(n)
    }
}

/// Imports everything `input` holds (gzip or not) as a new import of `origin`, and returns
/// the import finished: `done`, or `failed` when the input broke off (what was read before
/// stays stored and counted, and reading the same input again stores the rest, the rest
/// being duplicates). Errors are the database's.
pub fn import_stream(
    conn: &mut DbConnection,
    loaded: &Loaded,
    origin: Origin,
    file_name: Option<String>,
    input: impl Read + Send,
    progress: &mut dyn FnMut(&Progress),
) -> AppResult<CdrImport> {
    let import = loaded.new_import(origin, file_name);
    cdr_imports::insert(conn, &import)?;
    let result = read_into(conn, loaded, &import.id, input, progress);
    match result {
        Ok(Ended { failure, sha256 }) => {
            cdr_imports::finish(conn, &import.id, failure.as_deref(), Some(&sha256))?
        }
        Err(e) => {
            // Best effort: the database itself may be what failed.
            let _ = cdr_imports::finish(conn, &import.id, Some(&e.to_string()), None);
            return Err(e);
        }
    }
    Ok(cdr_imports::find(conn, &import.id)?.unwrap_or(import))
}

/// How reading an input ended.
struct Ended {
    /// Why the input could not be read to its end.
    failure: Option<String>,
    /// SHA-256 of the bytes read.
    sha256: String,
}

/// Reads `input` into the import: the records are read and resolved on a thread of their
/// own, a batch ahead of this one, which stores them (so the database works on one batch
/// while the next is read; two batches in memory at most).
fn read_into(
    conn: &mut DbConnection,
    loaded: &Loaded,
    import_id: &str,
    input: impl Read + Send,
    progress: &mut dyn FnMut(&Progress),
) -> AppResult<Ended> {
    let (batches, arriving) = std::sync::mpsc::sync_channel::<(Batch, u64)>(1);
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || read_batches(loaded, input, batches));
        let mut stored = Ok(());
        let mut reported = Progress::default();
        let mut counted_bytes = 0u64;
        while let Ok((mut batch, bytes)) = arriving.recv() {
            match batch.store(conn, import_id, (bytes - counted_bytes) as i64, |_| Ok(())) {
                Ok(added) => {
                    counted_bytes = bytes;
                    reported.bytes = bytes;
                    add_counts(&mut reported.counts, &added);
                    progress(&reported);
                }
                Err(e) => {
                    stored = Err(e);
                    break;
                }
            }
        }
        // Stops the reading thread at its next batch when storing failed.
        drop(arriving);
        let ended = reading
            .join()
            .map_err(|_| AppError::internal("reading the records panicked"))?;
        stored?;
        ended
    })
}

/// Reads and resolves `input`'s records into batches sent to `batches` with the bytes read
/// so far; the last batch (possibly empty) is sent when the input ends or breaks off.
fn read_batches(
    loaded: &Loaded,
    input: impl Read,
    batches: std::sync::mpsc::SyncSender<(Batch, u64)>,
) -> AppResult<Ended> {
    let seen = Rc::new(RefCell::new((0u64, Sha256::new())));
    let tally = Tally {
        inner: input,
        seen: seen.clone(),
    };
    let options = ReadOptions {
        growing: false,
        ..loaded.settings.read.clone()
    };
    let mut batch = Batch::default();
    let mut failure = None;
    match sources::maybe_gunzip(tally) {
        Err(e) => failure = Some(format!("the input could not be read: {e}")),
        Ok(plain) => {
            let mut reader = sources::records(loaded.settings.format, plain, &options)?;
            loop {
                let end = match reader.next() {
                    None => true,
                    Some(Ok(outcome)) => {
                        batch.take(loaded, outcome);
                        false
                    }
                    Some(Err(e)) => {
                        failure = Some(format!(
                            "{}; the records before byte {} of the input are stored, sending the same input again stores the rest",
                            e.message,
                            reader.offset()
                        ));
                        true
                    }
                };
                if end || batch.len() >= BATCH {
                    let bytes = seen.borrow().0;
                    if batches.send((std::mem::take(&mut batch), bytes)).is_err() {
                        // Storing failed: its error is the one reported.
                        break;
                    }
                }
                if end {
                    break;
                }
            }
        }
    }
    let sha256 = hex::encode(seen.borrow().1.clone().finalize());
    Ok(Ended { failure, sha256 })
}

pub fn add_counts(total: &mut Counts, more: &Counts) {
    total.records += more.records;
    total.accepted += more.accepted;
    total.duplicates += more.duplicates;
    total.rejected += more.rejected;
    total.unrated += more.unrated;
    total.skipped_unanswered += more.skipped_unanswered;
    total.skipped_internal += more.skipped_internal;
    total.skipped_leg += more.skipped_leg;
    total.skipped_filtered += more.skipped_filtered;
    total.error_count += more.error_count;
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::{carriers, cdr_sources, clients, ddis, endpoints};
    use crate::ids::{BrandId, Id};
    use crate::sources::numbering::Numbering;
    use crate::sources::settings::{Mapping, SourceSettings};
    use crate::sources::Format;

    /// A brand with client A (extension 201, DDI +34910000001) and carrier TELCHAN.
    fn tenant(conn: &mut DbConnection) -> BrandId {
        let brand = crate::ops::testing::brand(conn, "Brand");
        let now = db::now();
        let b = brand.as_str();
        diesel::insert_into(clients::table)
            .values((
                clients::id.eq("client-a"),
                clients::brand_id.eq(b),
                clients::name.eq("A"),
                clients::client_type.eq("vpbx"),
                clients::timezone.eq("Europe/Madrid"),
                clients::language.eq("es"),
                clients::show_billing_details.eq(true),
                clients::created_at.eq(now),
                clients::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(endpoints::table)
            .values((
                endpoints::id.eq("endpoint-201"),
                endpoints::brand_id.eq(b),
                endpoints::client_id.eq("client-a"),
                endpoints::endpoint_type.eq("User"),
                endpoints::name.eq("Alice"),
                endpoints::code.eq("201"),
                endpoints::created_at.eq(now),
                endpoints::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(carriers::table)
            .values((
                carriers::id.eq("carrier-1"),
                carriers::brand_id.eq(b),
                carriers::name.eq("Telchan"),
                carriers::description.eq(""),
                carriers::code.eq("TELCHAN"),
                carriers::created_at.eq(now),
                carriers::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(ddis::table)
            .values((
                ddis::id.eq("ddi-1"),
                ddis::brand_id.eq(b),
                ddis::client_id.eq("client-a"),
                ddis::ddi_e164.eq("+34910000001"),
                ddis::created_at.eq(now),
                ddis::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(cdr_sources::table)
            .values((
                cdr_sources::id.eq("source-1"),
                cdr_sources::brand_id.eq(b),
                cdr_sources::name.eq("pbx"),
                cdr_sources::format.eq("asterisk-csv"),
                cdr_sources::answered_only.eq(true),
                cdr_sources::direction_rules.eq("[]"),
                cdr_sources::mapping.eq("{}"),
                cdr_sources::callid_prefix.eq(""),
                cdr_sources::enabled.eq(true),
                cdr_sources::push_secret_hash.eq("-"),
                cdr_sources::created_at.eq(now),
                cdr_sources::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        brand
    }

    fn source(brand: &BrandId) -> SourceSettings {
        SourceSettings {
            id: "source-1".into(),
            brand_id: brand.clone(),
            name: "pbx".into(),
            format: Format::AsteriskCsv,
            timezone: chrono_tz::Europe::Madrid,
            read: ReadOptions::default(),
            answered_only: true,
            numbering: Numbering::new("34", "", "00", 4, &[]).unwrap(),
            direction_rules: vec![],
            mapping: Mapping::default(),
            call_types: vec![],
            callid_prefix: String::new(),
            enabled: true,
        }
    }

    /// An Asterisk `Master.csv` line (16 columns, no uniqueid).
    fn line(src: &str, dst: &str, start: &str, billsec: u32, disposition: &str) -> String {
        format!(
            "\"\",\"{src}\",\"{dst}\",\"from-internal\",\"\"\"Alice\"\" <{src}>\",\"SIP/{src}-0001\",\"SIP/TELCHAN-0002\",\"Dial\",\"SIP/TELCHAN/{dst},60\",\"{start}\",\"{start}\",\"{start}\",{},{billsec},\"{disposition}\",\"DOCUMENTATION\"\n",
            billsec + 5
        )
    }

    fn master_csv() -> String {
        [
            line("201", "912345678", "2026-01-31 10:00:00", 60, "ANSWERED"),
            line("201", "912345679", "2026-01-31 10:05:00", 30, "ANSWERED"),
            line(
                "201",
                "0044207946000",
                "2026-01-31 10:10:00",
                12,
                "ANSWERED",
            ),
            line("201", "912345670", "2026-01-31 10:15:00", 0, "NO ANSWER"),
            line("201", "202", "2026-01-31 10:20:00", 40, "ANSWERED"),
            line(
                "666777888",
                "910000001",
                "2026-01-31 10:25:00",
                90,
                "ANSWERED",
            ),
            "\"\",\"201\",\"912\",\"x\"\n".to_string(),
        ]
        .concat()
    }

    fn import(conn: &mut DbConnection, loaded: &Loaded, input: impl Read + Send) -> CdrImport {
        import_stream(
            conn,
            loaded,
            Origin::Cli,
            Some("Master.csv".into()),
            input,
            &mut |_| {},
        )
        .unwrap()
    }

    fn loaded(conn: &mut DbConnection) -> Loaded {
        let brand = tenant(conn);
        Loaded::load(conn, &PlanCache::default(), source(&brand)).unwrap()
    }

    #[test]
    fn a_file_is_counted_record_by_record_and_its_calls_stored() {
        let (_dir, mut conn) = crate::ops::testing::database();
        let loaded = loaded(&mut conn);
        let text = master_csv();
        let done = import(&mut conn, &loaded, Cursor::new(text.clone()));
        assert_eq!(done.status, "done", "{:?}", done.failure);
        assert_eq!(
            (done.records, done.accepted, done.duplicates, done.rejected),
            (7, 4, 0, 1)
        );
        assert_eq!((done.skipped_unanswered, done.skipped_internal), (1, 1));
        // No rating profiles: the three outbound calls have no price.
        assert_eq!(done.unrated, 3);
        assert_eq!(done.bytes, text.len() as i64);
        assert_eq!(
            done.sha256.as_deref(),
            Some(hex::encode(Sha256::digest(text.as_bytes())).as_str())
        );
        let errors: serde_json::Value = serde_json::from_str(&done.errors).unwrap();
        assert_eq!(errors[0]["line"], 7, "{errors}");
        assert_eq!(done.error_count, 1);

        use crate::db::schema::billable_calls as t;
        let stored: Vec<(String, String, Option<String>, Option<String>)> = t::table
            .select((t::direction, t::callee, t::carrier_id, t::ddi_id))
            .order(t::callee)
            .load(&mut conn)
            .unwrap();
        assert_eq!(
            stored,
            vec![
                (
                    "inbound".into(),
                    "+34910000001".into(),
                    None,
                    Some("ddi-1".into())
                ),
                (
                    "outbound".into(),
                    "+34912345678".into(),
                    Some("carrier-1".into()),
                    None
                ),
                (
                    "outbound".into(),
                    "+34912345679".into(),
                    Some("carrier-1".into()),
                    None
                ),
                (
                    "outbound".into(),
                    "+44207946000".into(),
                    Some("carrier-1".into()),
                    None
                ),
            ]
        );

        // The same file again: every call a duplicate, nothing stored twice.
        let again = import(&mut conn, &loaded, Cursor::new(text));
        assert_eq!((again.accepted, again.duplicates, again.unrated), (0, 4, 0));
    }

    /// Gives `good` bytes of `text`, then fails like a connection that broke.
    struct Broken {
        text: Cursor<Vec<u8>>,
    }

    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.text.read(buf)? {
                0 => Err(io::Error::other("connection reset")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn an_input_that_breaks_off_keeps_what_was_read_and_a_second_read_stores_the_rest() {
        let (_dir, mut conn) = crate::ops::testing::database();
        let loaded = loaded(&mut conn);
        let text = master_csv();
        // Two whole lines and half of the third.
        let cut = text.match_indices('\n').nth(1).unwrap().0 + 1 + 40;
        let broken = Broken {
            text: Cursor::new(text.as_bytes()[..cut].to_vec()),
        };
        let failed = import(&mut conn, &loaded, broken);
        assert_eq!(failed.status, "failed");
        assert_eq!((failed.records, failed.accepted), (2, 2));
        let why = failed.failure.unwrap();
        assert!(why.contains("connection reset"), "{why}");
        assert!(
            why.contains("sending the same input again stores the rest"),
            "{why}"
        );

        let rest = import(&mut conn, &loaded, Cursor::new(text));
        assert_eq!(rest.status, "done");
        assert_eq!((rest.accepted, rest.duplicates), (2, 2));
    }

    #[test]
    fn a_gzip_input_is_read_as_its_content() {
        use std::io::Write;
        let (_dir, mut conn) = crate::ops::testing::database();
        let loaded = loaded(&mut conn);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(master_csv().as_bytes()).unwrap();
        let compressed = gz.finish().unwrap();
        let done = import(&mut conn, &loaded, Cursor::new(compressed.clone()));
        assert_eq!((done.records, done.accepted), (7, 4));
        assert_eq!(done.bytes, compressed.len() as i64);
    }
}
