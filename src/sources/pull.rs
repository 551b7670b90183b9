//! Webex pull: the runner asks a `webex-cdr` source's `pull.url` (Webex Calling's CDR feed)
//! for the records of time windows of at most 12 hours that end 5 minutes ago, each
//! starting one hour before the previous one ended (a late record is not missed; the
//! records seen twice are duplicates by callid). A window follows its `Link: rel="next"`
//! pages and waits out a `429` as `Retry-After` says; its records are stored in batches and
//! the checkpoint (the end of the last complete window) is committed in the transaction of
//! its last batch, under the source's lease, so each window counts once whatever stops it.
//!
//! The window arithmetic and the header parsers are pure functions, apart from the HTTP.

use std::io::{Cursor, Read};

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::db::cdr_imports::{self, Counts};
use crate::db::{self, cdr_sources as stored, cdr_spool_files, DbConnection};
use crate::error::AppResult;
use crate::fault;
use crate::sources::import::{add_counts, Batch, Loaded, Origin, BATCH};
use crate::sources::{self, Format};

/// The longest window the feed answers.
pub const WINDOW_HOURS: i64 = 12;
/// How far a window reaches back before the previous one's end.
pub const OVERLAP_MINUTES: i64 = 60;
/// Records are available this long after a call ended.
pub const READY_AFTER_MINUTES: i64 = 5;
/// How far back the feed is always able to answer (Webex keeps 48 hours at least): a source
/// behind by more starts there, the older records being out of reach.
pub const KEPT_HOURS: i64 = 48;
/// Records asked per page (Webex's `max`).
pub const PAGE_RECORDS: u32 = 500;
/// A page bigger than this is refused (a page of 500 records is well under 2 MiB).
pub const MAX_PAGE_BYTES: u64 = 64 << 20;
/// Waits asked by `429`s are honoured up to this long each, and this many times per page;
/// beyond, the window is asked again at the next pull.
pub const MAX_RETRY_WAIT_SECONDS: u64 = 300;
pub const MAX_RETRIES_PER_PAGE: u32 = 5;
/// The wait after a `429` without a usable `Retry-After`.
pub const DEFAULT_RETRY_SECONDS: u64 = 60;
pub const CONNECT_TIMEOUT_SECONDS: u64 = 10;
/// For a whole request, the body included.
pub const REQUEST_TIMEOUT_SECONDS: u64 = 120;

/// The half-open time span `[start, end)` asked of the feed (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Window {
    /// How the import names it: `startTime/endTime` as sent.
    pub fn name(&self) -> String {
        format!("{}/{}", feed_time(self.start), feed_time(self.end))
    }
}

/// Where a source never pulled starts, at `now`: as if a window had ended an hour after the
/// start of the 12 hours before the last 5 minutes, so that its first window is those 12
/// hours. Stored on the first pull, it stays where it is when that pull fails or dies, and
/// the window is asked again from the same start.
pub fn starting_point(now: NaiveDateTime) -> NaiveDateTime {
    ready_at(now) - Duration::hours(WINDOW_HOURS) + Duration::minutes(OVERLAP_MINUTES)
}

/// The end of what the feed has ready at `now`: 5 minutes ago, at a whole second.
fn ready_at(now: NaiveDateTime) -> NaiveDateTime {
    now.trunc_subsecs(0) - Duration::minutes(READY_AFTER_MINUTES)
}

/// The next window to ask for at `now`, given the end of the last complete window (see
/// [`starting_point`] for a source never pulled), or `None` when nothing new is ready yet.
pub fn next_window(checkpoint: NaiveDateTime, now: NaiveDateTime) -> Option<Window> {
    let ready = ready_at(now);
    if checkpoint >= ready {
        return None;
    }
    let start =
        (checkpoint - Duration::minutes(OVERLAP_MINUTES)).max(ready - Duration::hours(KEPT_HOURS));
    let end = (start + Duration::hours(WINDOW_HOURS)).min(ready);
    Some(Window { start, end })
}

/// A time as the feed takes it: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn feed_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The target of the `rel="next"` link among `Link` header values (RFC 8288), as written
/// (it may be relative to the page's URL).
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    values.into_iter().find_map(|value| {
        let mut rest = value;
        loop {
            let open = rest.find('<')?;
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            // The link's parameters run to the next comma outside quotes.
            let params = &after[close + 1..];
            let mut quoted = false;
            let end = params
                .char_indices()
                .find(|&(_, c)| {
                    if c == '"' {
                        quoted = !quoted;
                    }
                    c == ',' && !quoted
                })
                .map_or(params.len(), |(i, _)| i);
            let is_next = params[..end].split(';').any(|param| {
                let Some((name, value)) = param.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target.trim().to_string());
            }
            rest = &params[end..];
        }
    })
}

/// The page a `rel="next"` link of `page` leads to, when it stays with the same origin
/// (scheme, host and port): the token goes only where `pull.url` points.
pub fn follow(page: &url::Url, link: &str) -> Result<url::Url, String> {
    let next = page
        .join(link)
        .map_err(|e| format!("the next link {link:?} is not a URL: {e}"))?;
    if next.origin() != page.origin() {
        return Err(format!(
            "the next link leads to another site ({}), not followed",
            next.origin().ascii_serialization()
        ));
    }
    Ok(next)
}

/// How long a `Retry-After` value asks to wait at `now`: seconds, or an HTTP date (a date
/// already past is no wait). `None` when it is neither.
pub fn retry_after(value: &str, now: DateTime<chrono::Utc>) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.to_utc() - now).to_std().unwrap_or_default())
}

/// Whether a source pulling every `interval` is due at `now`: never pulled, or its last
/// pull (successful or not) started an interval ago or more.
pub fn due(
    conn: &mut DbConnection,
    source_id: &str,
    interval: Duration,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let last = cdr_imports::last_started(conn, source_id, Origin::Pull.name())?;
    Ok(last.is_none_or(|t| t + interval <= now))
}

/// What a page of the feed must be: an object whose `items` (if any) is a list.
#[derive(Deserialize)]
struct PageShape {
    #[serde(default)]
    items: Vec<serde::de::IgnoredAny>,
}

/// A source's pull as the runner runs it.
pub struct Pull<'a> {
    pub loaded: &'a Loaded,
    pub url: url::Url,
    /// Sent as `Authorization: Bearer`; never shown nor logged.
    pub token: &'a str,
    pub client: &'a reqwest::blocking::Client,
    /// The runner holding the lease, and for how long a lease runs.
    pub owner: &'a str,
    pub lease: Duration,
    /// The source's `pull.intervalMinutes`.
    pub interval: Duration,
    /// Whether the service is stopping (checked between pages and while waiting).
    pub stopping: &'a dyn Fn() -> bool,
}

/// What one pull of a source did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The imports created, one per window asked.
    pub imports: Vec<String>,
    pub counts: Counts,
    /// Another runner holds the source's lease: nothing was asked.
    pub busy: bool,
    /// Why the last window failed (it is asked again at the next pull).
    pub failure: Option<String>,
}

/// How a window ended, when the database did not fail.
type Asked = Result<(), String>;

/// A page's body and the next page's URL.
type Page = (Vec<u8>, Option<url::Url>);

impl Pull<'_> {
    fn source_id(&self) -> &str {
        &self.loaded.settings.id
    }

    /// Asks for every window ready, oldest first, unless another runner holds the source;
    /// stops at the first window that fails (its import `failed`, the checkpoint where it
    /// was). Errors are the database's.
    pub fn run(&self, conn: &mut DbConnection) -> AppResult<Pulled> {
        let now = db::now();
        if !cdr_spool_files::take_lease(conn, self.source_id(), self.owner, now, now + self.lease)?
        {
            return Ok(Pulled {
                busy: true,
                ..Pulled::default()
            });
        }
        let pulled = self.run_held(conn);
        let released = cdr_spool_files::release_lease(conn, self.source_id(), self.owner);
        let pulled = pulled?;
        released?;
        Ok(pulled)
    }

    fn run_held(&self, conn: &mut DbConnection) -> AppResult<Pulled> {
        let mut pulled = Pulled::default();
        // Up to what is ready when the pull starts: one that took a while does not chase
        // the clock with windows of a few seconds.
        let now = db::now();
        // Asked again under the lease: another runner may have pulled since the caller
        // looked, and moved the checkpoint.
        if !due(conn, self.source_id(), self.interval, now)? {
            return Ok(pulled);
        }
        cdr_imports::fail_running(
            conn,
            self.source_id(),
            Origin::Pull.name(),
            "the runner stopped while reading this window; it was asked again",
        )?;
        let mut checkpoint = match stored::pull_checkpoint(conn, self.source_id())? {
            Some(checkpoint) => checkpoint,
            None => {
                let start = starting_point(now);
                stored::start_pull(conn, self.source_id(), start)?;
                start
            }
        };
        while let Some(window) = next_window(checkpoint, now) {
            if (self.stopping)() {
                break;
            }
            let import = self.loaded.new_import(Origin::Pull, Some(window.name()));
            cdr_imports::insert(conn, &import)?;
            pulled.imports.push(import.id.clone());
            let mut hasher = Sha256::new();
            let asked = self.window(conn, &import.id, window, &mut pulled.counts, &mut hasher);
            let sha256 = hex::encode(hasher.finalize());
            match asked {
                Ok(Ok(())) => cdr_imports::finish(conn, &import.id, None, Some(&sha256))?,
                Ok(Err(failure)) => {
                    let failure = format!("{failure}; the window is asked again at the next pull");
                    cdr_imports::finish(conn, &import.id, Some(&failure), Some(&sha256))?;
                    pulled.failure = Some(failure);
                    break;
                }
                Err(e) => {
                    // Best effort: the database itself may be what failed.
                    let _ = cdr_imports::finish(conn, &import.id, Some(&e.message), None);
                    return Err(e);
                }
            }
            checkpoint = window.end;
        }
        Ok(pulled)
    }

    /// Reads a window's pages into `import_id`, a batch per transaction, the last with the
    /// window's end as the checkpoint.
    fn window(
        &self,
        conn: &mut DbConnection,
        import_id: &str,
        window: Window,
        counts: &mut Counts,
        hasher: &mut Sha256,
    ) -> AppResult<Asked> {
        let mut url = self.url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !matches!(k.as_ref(), "startTime" | "endTime" | "max"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("startTime", &feed_time(window.start))
            .append_pair("endTime", &feed_time(window.end))
            .append_pair("max", &PAGE_RECORDS.to_string());
        let mut next = Some(url);
        let mut batch = Batch::default();
        // Records are numbered across the window's pages.
        let mut numbered = 0u64;
        let mut unstored_bytes = 0u64;
        let asked: Asked = 'pages: loop {
            let Some(url) = next.take() else {
                break Ok(());
            };
            if (self.stopping)() {
                break Err("the service stopped".into());
            }
            let (body, following) = match self.page(conn, &url)? {
                Ok(page) => page,
                Err(failure) => break Err(failure),
            };
            next = following;
            hasher.update(&body);
            unstored_bytes += body.len() as u64;
            let shape: PageShape = match serde_json::from_slice(&body) {
                Ok(shape) => shape,
                Err(e) => break Err(format!("{}: not a page of records: {e}", shown(&url))),
            };
            if shape.items.is_empty() {
                continue;
            }
            let reader =
                sources::records(Format::WebexCdr, Cursor::new(body), &Default::default())?;
            for item in reader {
                let mut outcome = match item {
                    Ok(outcome) => outcome,
                    Err(e) => break 'pages Err(format!("{}: {}", shown(&url), e.message)),
                };
                numbered += 1;
                match &mut outcome {
                    Ok(record) => record.line = numbered,
                    Err(rejection) => rejection.line = numbered,
                }
                batch.take(self.loaded, outcome);
                if batch.len() >= BATCH {
                    self.store(conn, &mut batch, import_id, &mut unstored_bytes, counts)?;
                }
            }
            // A page is stored as it comes; the last one with the checkpoint, below.
            if next.is_some() {
                self.store(conn, &mut batch, import_id, &mut unstored_bytes, counts)?;
                fault::hit("pull_after_batch");
            }
        };
        // What was read is stored either way (a window asked again finds it duplicate); the
        // checkpoint moves only with a window read whole.
        let whole = asked.is_ok();
        let added = batch.store(conn, import_id, unstored_bytes as i64, |conn| {
            self.renew(conn)?;
            if whole {
                stored::save_pull_checkpoint(conn, self.source_id(), window.end, db::now())?;
            }
            Ok(())
        })?;
        add_counts(counts, &added);
        Ok(asked)
    }

    /// Stores a batch of the window (not its last), `unstored_bytes` of the feed's with it.
    fn store(
        &self,
        conn: &mut DbConnection,
        batch: &mut Batch,
        import_id: &str,
        unstored_bytes: &mut u64,
        counts: &mut Counts,
    ) -> AppResult<()> {
        let added = batch.store(conn, import_id, *unstored_bytes as i64, |conn| {
            self.renew(conn)
        })?;
        *unstored_bytes = 0;
        add_counts(counts, &added);
        Ok(())
    }

    /// Inside a batch's transaction: the lease renewed, or the batch rolled back when
    /// another runner took it.
    fn renew(&self, conn: &mut DbConnection) -> AppResult<()> {
        cdr_spool_files::renew_lease(conn, self.source_id(), self.owner, db::now() + self.lease)
    }

    /// One page: its body and the next page's URL; `429`s waited out as they ask.
    fn page(&self, conn: &mut DbConnection, url: &url::Url) -> AppResult<Result<Page, String>> {
        let mut retries = 0;
        loop {
            let response = match self
                .client
                .get(url.clone())
                .bearer_auth(self.token)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
            {
                Ok(response) => response,
                Err(e) => return Ok(Err(format!("{}: {}", shown(url), causes(&e.without_url())))),
            };
            let status = response.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, chrono::Utc::now()))
                    .unwrap_or(std::time::Duration::from_secs(DEFAULT_RETRY_SECONDS));
                retries += 1;
                if retries > MAX_RETRIES_PER_PAGE || wait.as_secs() > MAX_RETRY_WAIT_SECONDS {
                    return Ok(Err(format!(
                        "{}: HTTP 429 Too Many Requests ({retries} time(s), asked to wait {} s)",
                        shown(url),
                        wait.as_secs()
                    )));
                }
                if !self.wait(conn, wait)? {
                    return Ok(Err("the service stopped".into()));
                }
                continue;
            }
            if !status.is_success() {
                let mut head = vec![];
                let _ = response.take(300).read_to_end(&mut head);
                let text = String::from_utf8_lossy(&head);
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                return Ok(Err(format!("{}: HTTP {status}: {text}", shown(url))));
            }
            let following = next_link(
                response
                    .headers()
                    .get_all(reqwest::header::LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            );
            let following = match following.map(|next| follow(url, &next)) {
                None => None,
                Some(Ok(next)) => Some(next),
                Some(Err(e)) => return Ok(Err(format!("{}: {e}", shown(url)))),
            };
            let mut body = vec![];
            if let Err(e) = response.take(MAX_PAGE_BYTES + 1).read_to_end(&mut body) {
                return Ok(Err(format!("{}: {e}", shown(url))));
            }
            if body.len() as u64 > MAX_PAGE_BYTES {
                return Ok(Err(format!(
                    "{}: a page over {} MiB",
                    shown(url),
                    MAX_PAGE_BYTES >> 20
                )));
            }
            return Ok(Ok((body, following)));
        }
    }

    /// Waits `wait` holding the lease (renewed to cover it); false when the service stops
    /// meanwhile.
    fn wait(&self, conn: &mut DbConnection, wait: std::time::Duration) -> AppResult<bool> {
        let until = db::now() + Duration::from_std(wait).unwrap_or_default() + self.lease;
        cdr_spool_files::renew_lease(conn, self.source_id(), self.owner, until)?;
        let started = std::time::Instant::now();
        while started.elapsed() < wait {
            if (self.stopping)() {
                return Ok(false);
            }
            let left = wait.saturating_sub(started.elapsed());
            std::thread::sleep(left.min(std::time::Duration::from_millis(200)));
        }
        Ok(true)
    }
}

/// A URL as errors show it: without its query.
fn shown(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

/// An error with its causes (a refused connection says so only in its source).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The pull's HTTP client: explicit timeouts, rustls.
pub fn client() -> AppResult<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(CONNECT_TIMEOUT_SECONDS))
        .timeout(std::time::Duration::from_secs(REQUEST_TIMEOUT_SECONDS))
        .user_agent(concat!("callcsv/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(crate::error::AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, day)
            .unwrap()
            .and_hms_opt(h, m, s)
            .unwrap()
    }

    #[test]
    fn the_first_window_is_the_12_hours_before_the_last_5_minutes() {
        let now = at(1, 12, 0, 30) + Duration::milliseconds(750);
        let w = next_window(starting_point(now), now).unwrap();
        assert_eq!(w.end, at(1, 11, 55, 30));
        assert_eq!(w.start, at(1, 11, 55, 30) - Duration::hours(12));
        assert_eq!(feed_time(w.start), "2026-11-30T23:55:30.000Z");
    }

    #[test]
    fn a_window_starts_an_hour_before_the_checkpoint_and_ends_5_minutes_ago() {
        let w = next_window(at(1, 11, 40, 0), at(1, 12, 0, 0)).unwrap();
        assert_eq!(
            w,
            Window {
                start: at(1, 10, 40, 0),
                end: at(1, 11, 55, 0)
            }
        );
        // Nothing new is ready yet.
        assert_eq!(next_window(at(1, 11, 55, 0), at(1, 12, 0, 0)), None);
        assert_eq!(next_window(at(1, 11, 56, 0), at(1, 12, 0, 0)), None);
    }

    #[test]
    fn a_source_far_behind_catches_up_in_12_hour_windows_overlapping_by_an_hour() {
        let now = at(3, 12, 0, 0);
        let mut checkpoint = at(2, 0, 0, 0);
        let mut windows = vec![];
        while let Some(w) = next_window(checkpoint, now) {
            windows.push(w);
            checkpoint = w.end;
        }
        let w = |start, end| Window { start, end };
        assert_eq!(
            windows,
            [
                w(at(1, 23, 0, 0), at(2, 11, 0, 0)),
                w(at(2, 10, 0, 0), at(2, 22, 0, 0)),
                w(at(2, 21, 0, 0), at(3, 9, 0, 0)),
                w(at(3, 8, 0, 0), at(3, 11, 55, 0)),
            ]
        );
    }

    #[test]
    fn a_source_behind_more_than_the_feed_keeps_starts_at_its_oldest() {
        let now = at(5, 12, 0, 0);
        let w = next_window(at(1, 0, 0, 0), now).unwrap();
        assert_eq!(w.start, at(3, 11, 55, 0));
        assert_eq!(w.end, at(3, 23, 55, 0));
    }

    #[test]
    fn feed_times_have_milliseconds_and_a_z() {
        let t = at(1, 9, 5, 7) + Duration::milliseconds(42);
        assert_eq!(feed_time(t), "2026-12-01T09:05:07.042Z");
        let w = Window {
            start: at(1, 0, 0, 0),
            end: at(1, 12, 0, 0),
        };
        assert_eq!(
            w.name(),
            "2026-12-01T00:00:00.000Z/2026-12-01T12:00:00.000Z"
        );
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let next = "https://analytics.webexapis.com/v1/cdr_feed?startTime=a&max=500&page=2";
        assert_eq!(
            next_link([format!("<{next}>; rel=\"next\"").as_str()]),
            Some(next.into())
        );
        assert_eq!(
            next_link(["<https://x/first>; rel=\"first\", </v1/cdr_feed?p=3,4>; title=\"a, b\"; rel=\"prev next\""]),
            Some("/v1/cdr_feed?p=3,4".into())
        );
        assert_eq!(
            next_link(["<https://x/a>; rel=first", "<https://x/b>; REL=Next"]),
            Some("https://x/b".into())
        );
        assert_eq!(next_link(["<https://x/a>; rel=\"prev\""]), None);
        assert_eq!(next_link(["garbage"]), None);
        assert_eq!(next_link(Vec::<&str>::new()), None);
    }

    #[test]
    fn next_links_are_followed_on_the_same_site_only() {
        let page = url::Url::parse("https://analytics.webexapis.com/v1/cdr_feed?max=500").unwrap();
        assert_eq!(
            follow(&page, "/v1/cdr_feed?max=500&page=2")
                .unwrap()
                .as_str(),
            "https://analytics.webexapis.com/v1/cdr_feed?max=500&page=2"
        );
        assert_eq!(
            follow(&page, "https://analytics.webexapis.com/v1/cdr_feed?page=3")
                .unwrap()
                .as_str(),
            "https://analytics.webexapis.com/v1/cdr_feed?page=3"
        );
        for elsewhere in [
            "https://collector.example/v1/cdr_feed",
            "http://analytics.webexapis.com/v1/cdr_feed",
            "https://analytics.webexapis.com:8443/v1/cdr_feed",
        ] {
            let refused = follow(&page, elsewhere).unwrap_err();
            assert!(refused.contains("another site"), "{refused}");
        }
        assert!(follow(&page, "http://[::1").is_err());
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            retry_after("7", now),
            Some(std::time::Duration::from_secs(7))
        );
        assert_eq!(retry_after(" 0 ", now), Some(std::time::Duration::ZERO));
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 08:01:30 GMT", now),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 07:00:00 GMT", now),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn errors_show_urls_without_their_query() {
        let url =
            url::Url::parse("https://analytics.webexapis.com/v1/cdr_feed?startTime=x").unwrap();
        assert_eq!(shown(&url), "https://analytics.webexapis.com/v1/cdr_feed");
    }
}
