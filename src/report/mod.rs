//! The call CSV of a report: which columns each scheduler level gets, how a call becomes a
//! row (local start time in the scheduler's timezone, billed seconds, 4-decimal amounts),
//! and writing a whole period to a file by streaming rows from the database in keyset
//! chunks — memory stays flat whatever the row count, and no transaction stays open.

pub mod digest;
pub mod download;
pub mod paced;
pub mod stats_csv;
pub mod summary;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use crate::db::billable_calls::{self, Filter, ReportCall};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};

/// Columns of reports of schedulers created by brand operators.
pub const BRAND_COLUMNS: &[&str] = &[
    "callid",
    "startTime",
    "duration",
    "caller",
    "callee",
    "cost",
    "price",
    "endpointType",
    "endpointId",
    "direction",
    "companyId",
    "carrierId",
    "ddiProviderId",
    "ddiId",
];

/// Columns of reports of schedulers created by client administrators.
pub const CLIENT_COLUMNS: &[&str] = &[
    "callid",
    "startTime",
    "duration",
    "caller",
    "callee",
    "price",
    "endpointType",
    "endpointId",
    "direction",
    "ddiId",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Brand,
    Client,
}

impl Level {
    pub fn parse(s: &str) -> Level {
        if s == "client" {
            Level::Client
        } else {
            Level::Brand
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Level::Brand => BRAND_COLUMNS,
            Level::Client => CLIENT_COLUMNS,
        }
    }
}

/// How rows are written: columns by level, times in `timezone`, `price` hidden when the
/// client asked not to see billing details (client-level reports only).
#[derive(Debug, Clone, Copy)]
pub struct RowFormat {
    pub level: Level,
    pub timezone: Tz,
    pub show_price: bool,
}

/// `YYYY-MM-DD HH:MM:SS` of `t` in `tz`, written without the general formatter (this runs
/// once per row of reports with millions of rows).
fn local_time(t: chrono::NaiveDateTime, tz: Tz, out: &mut [u8; 19]) {
    use chrono::{Datelike, Timelike};
    let local = t.and_utc().with_timezone(&tz);
    let digits = |out: &mut [u8; 19], at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    *out = *b"0000-00-00 00:00:00";
    digits(out, 0, local.year().clamp(0, 9999) as u32, 4);
    digits(out, 5, local.month(), 2);
    digits(out, 8, local.day(), 2);
    digits(out, 11, local.hour(), 2);
    digits(out, 14, local.minute(), 2);
    digits(out, 17, local.second(), 2);
}

/// Writes one call as a record of the report's columns.
pub fn write_row<W: Write>(
    csv: &mut csv::Writer<W>,
    call: &ReportCall,
    format: &RowFormat,
) -> csv::Result<()> {
    fn opt(v: &Option<String>) -> &[u8] {
        v.as_deref().unwrap_or("").as_bytes()
    }
    let mut start = [0u8; 19];
    local_time(call.start_time, format.timezone, &mut start);
    let duration = call.billed_seconds.to_string();
    let price: &[u8] = if format.show_price {
        call.price.as_deref().unwrap_or("").as_bytes()
    } else {
        b""
    };
    csv.write_field(&call.callid)?;
    csv.write_field(start)?;
    csv.write_field(&duration)?;
    csv.write_field(&call.caller)?;
    csv.write_field(&call.callee)?;
    match format.level {
        Level::Brand => {
            csv.write_field(opt(&call.cost))?;
            csv.write_field(price)?;
            csv.write_field(opt(&call.endpoint_type))?;
            csv.write_field(opt(&call.endpoint_id))?;
            csv.write_field(&call.direction)?;
            csv.write_field(&call.client_id)?;
            csv.write_field(opt(&call.carrier_id))?;
            csv.write_field(opt(&call.ddi_provider_id))?;
            csv.write_field(opt(&call.ddi_id))?;
        }
        Level::Client => {
            csv.write_field(price)?;
            csv.write_field(opt(&call.endpoint_type))?;
            csv.write_field(opt(&call.endpoint_id))?;
            csv.write_field(&call.direction)?;
            csv.write_field(opt(&call.ddi_id))?;
        }
    }
    csv.write_record(None::<&[u8]>)
}

/// What a written report file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub rows: i64,
    pub bytes: i64,
    pub sha256: String,
}

/// Counts and hashes what goes through it, so the file is read once (while written).
struct Tally<W: Write> {
    inner: W,
    bytes: u64,
    hash: Sha256,
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Rows fetched per query while writing.
pub const CHUNK_ROWS: i64 = 10_000;

/// Writes the report of `filter`'s calls to `path` (created; fsynced), fetching rows in
/// chunks with a pooled connection taken per chunk. `keep_going` is asked between chunks
/// (the runner renews its lease there); returning false aborts with an error. File errors
/// name the file as `shown` (relative to the data dir), with the system's reason.
pub fn write_csv(
    pool: &DbPool,
    filter: &Filter,
    format: &RowFormat,
    path: &Path,
    shown: &Path,
    mut keep_going: impl FnMut(i64) -> AppResult<bool>,
) -> AppResult<Written> {
    let io = |e: std::io::Error| AppError::io("writing the report file", shown, &e);
    let csv_io = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => io(e),
        other => AppError::internal(format!("{other:?}")),
    };
    let file = File::create(path).map_err(io)?;
    let tally = Tally {
        inner: BufWriter::with_capacity(1 << 20, file),
        bytes: 0,
        hash: Sha256::new(),
    };
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(tally);
    csv.write_record(format.level.columns()).map_err(csv_io)?;
    // One thread fetches the next chunk while this one writes the current, so the
    // database and the CSV encoding work at the same time. The bounded channel keeps at
    // most two chunks in memory; dropping the receiver stops the fetcher.
    let rows = std::thread::scope(|scope| -> AppResult<i64> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<AppResult<Vec<ReportCall>>>(1);
        scope.spawn(move || {
            let mut cursor = None;
            loop {
                let chunk = pool.get().map_err(AppError::from).and_then(|mut conn| {
                    billable_calls::next_report_chunk(
                        &mut conn,
                        filter,
                        cursor.as_ref(),
                        CHUNK_ROWS,
                    )
                });
                let last = match &chunk {
                    Ok(c) => c
                        .last()
                        .map(|l| (l.start_time, l.callid.clone(), l.id.clone())),
                    Err(_) => None,
                };
                let done = last.is_none();
                if tx.send(chunk).is_err() || done {
                    return;
                }
                cursor = last;
            }
        });
        let mut rows = 0i64;
        for chunk in rx {
            let chunk = chunk?;
            if chunk.is_empty() {
                break;
            }
            for call in &chunk {
                write_row(&mut csv, call, format).map_err(csv_io)?;
            }
            rows += chunk.len() as i64;
            if !keep_going(rows)? {
                return Err(AppError::conflict("report build abandoned (lease lost)"));
            }
        }
        Ok(rows)
    })?;
    let tally = csv.into_inner().map_err(|e| io(e.into_error()))?;
    let Tally { inner, bytes, hash } = tally;
    let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(Written {
        rows,
        bytes: bytes as i64,
        sha256: hex::encode(hash.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn call() -> ReportCall {
        let t = NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(22, 30, 5)
            .unwrap();
        ReportCall {
            id: "id".into(),
            callid: "c,1".into(),
            start_time: t,
            billed_seconds: 60,
            caller: "+34911000001".into(),
            callee: "+34600000000".into(),
            direction: "outbound".into(),
            client_id: "client".into(),
            carrier_id: Some("carrier".into()),
            ddi_id: None,
            ddi_provider_id: None,
            endpoint_type: Some("User".into()),
            endpoint_id: Some("ep".into()),
            cost: Some("0.0500".into()),
            price: Some("0.1000".into()),
        }
    }

    fn written(format: RowFormat) -> String {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(vec![]);
        write_row(&mut csv, &call(), &format).unwrap();
        String::from_utf8(csv.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn brand_rows_have_every_id_and_local_time() {
        let f = RowFormat {
            level: Level::Brand,
            timezone: chrono_tz::Europe::Madrid,
            show_price: true,
        };
        // 22:30 UTC is 00:30 the next day in Madrid (CEST); the callid needs quoting.
        assert_eq!(
            written(f),
            "\"c,1\",2026-07-02 00:30:05,60,+34911000001,+34600000000,0.0500,0.1000,User,ep,outbound,client,carrier,,\r\n"
        );
    }

    #[test]
    fn client_rows_hide_price_when_asked() {
        let f = RowFormat {
            level: Level::Client,
            timezone: chrono_tz::UTC,
            show_price: false,
        };
        assert_eq!(
            written(f),
            "\"c,1\",2026-07-01 22:30:05,60,+34911000001,+34600000000,,User,ep,outbound,\r\n"
        );
    }

    #[test]
    fn local_times_across_dst_and_years() {
        let mut out = [0u8; 19];
        let t = NaiveDate::from_ymd_opt(2024, 10, 27)
            .unwrap()
            .and_hms_opt(0, 59, 59)
            .unwrap();
        local_time(t, chrono_tz::Europe::Madrid, &mut out);
        assert_eq!(&out, b"2024-10-27 02:59:59");
        let t = NaiveDate::from_ymd_opt(2024, 10, 27)
            .unwrap()
            .and_hms_opt(1, 0, 0)
            .unwrap();
        local_time(t, chrono_tz::Europe::Madrid, &mut out);
        assert_eq!(
            &out, b"2024-10-27 02:00:00",
            "the repeated hour after fall-back"
        );
        let t = NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_hms_opt(4, 5, 6)
            .unwrap();
        local_time(t, chrono_tz::America::New_York, &mut out);
        assert_eq!(&out, b"2026-12-31 23:05:06");
    }
}
