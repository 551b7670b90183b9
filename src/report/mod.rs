//! The call CSV of a report: which columns each scheduler level gets, how a call becomes a
//! row (local start time in the scheduler's timezone, billed seconds, 4-decimal amounts),
//! and writing a whole period to a file by streaming rows from the database in keyset
//! chunks — memory stays flat whatever the row count, and no transaction stays open.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use crate::db::billable_calls::{self, BillableCall, Filter};
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

/// One call as the report's cells, in column order.
pub fn row(call: &BillableCall, format: &RowFormat) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let local = call.start_time.and_utc().with_timezone(&format.timezone);
    let start = local.format("%Y-%m-%d %H:%M:%S").to_string();
    let price = if format.show_price {
        opt(&call.price)
    } else {
        String::new()
    };
    match format.level {
        Level::Brand => vec![
            call.callid.clone(),
            start,
            call.billed_seconds.to_string(),
            call.caller.clone(),
            call.callee.clone(),
            opt(&call.cost),
            price,
            opt(&call.endpoint_type),
            opt(&call.endpoint_id),
            call.direction.clone(),
            call.client_id.clone(),
            opt(&call.carrier_id),
            opt(&call.ddi_provider_id),
            opt(&call.ddi_id),
        ],
        Level::Client => vec![
            call.callid.clone(),
            start,
            call.billed_seconds.to_string(),
            call.caller.clone(),
            call.callee.clone(),
            price,
            opt(&call.endpoint_type),
            opt(&call.endpoint_id),
            call.direction.clone(),
            opt(&call.ddi_id),
        ],
    }
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
pub const CHUNK_ROWS: i64 = 5000;

/// Writes the report of `filter`'s calls to `path` (created; fsynced), fetching rows in
/// chunks with a pooled connection taken per chunk. `keep_going` is asked between chunks
/// (the runner renews its lease there); returning false aborts with an error.
pub fn write_csv(
    pool: &DbPool,
    filter: &Filter,
    format: &RowFormat,
    path: &Path,
    mut keep_going: impl FnMut(i64) -> AppResult<bool>,
) -> AppResult<Written> {
    let io = |e: std::io::Error| AppError::internal(format!("writing {}: {e}", path.display()));
    let file = File::create(path).map_err(io)?;
    let tally = Tally {
        inner: BufWriter::with_capacity(1 << 20, file),
        bytes: 0,
        hash: Sha256::new(),
    };
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(tally);
    csv.write_record(format.level.columns())
        .map_err(|e| AppError::internal(e.to_string()))?;
    let mut rows = 0i64;
    let mut cursor = None;
    loop {
        let chunk = {
            let mut conn = pool.get()?;
            billable_calls::next_chunk(&mut conn, filter, cursor.as_ref(), CHUNK_ROWS)?
        };
        let Some(last) = chunk.last() else { break };
        cursor = Some((last.start_time, last.callid.clone(), last.id.clone()));
        for call in &chunk {
            csv.write_record(row(call, format))
                .map_err(|e| AppError::internal(e.to_string()))?;
        }
        rows += chunk.len() as i64;
        if !keep_going(rows)? {
            return Err(AppError::conflict("report build abandoned (lease lost)"));
        }
    }
    let tally = csv
        .into_inner()
        .map_err(|e| AppError::internal(format!("writing {}: {e}", path.display())))?;
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

    fn call() -> BillableCall {
        let t = NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(22, 30, 5)
            .unwrap();
        BillableCall {
            id: "id".into(),
            brand_id: "b".into(),
            callid: "c,1".into(),
            start_time: t,
            duration: "59.2".into(),
            billed_seconds: 60,
            caller: "+34911000001".into(),
            callee: "+34600000000".into(),
            direction: "outbound".into(),
            client_id: "client".into(),
            carrier_id: Some("carrier".into()),
            ddi_id: None,
            ddi_provider_id: None,
            source_ip: None,
            endpoint_type: Some("User".into()),
            endpoint_id: Some("ep".into()),
            cost: Some("0.0500".into()),
            price: Some("0.1000".into()),
            rating_error: None,
            destination_name: None,
            rating_plan_id: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn brand_rows_have_every_id_and_local_time() {
        let f = RowFormat {
            level: Level::Brand,
            timezone: chrono_tz::Europe::Madrid,
            show_price: true,
        };
        let cells = row(&call(), &f);
        assert_eq!(cells.len(), BRAND_COLUMNS.len());
        assert_eq!(
            cells[1], "2026-07-02 00:30:05",
            "22:30 UTC is 00:30 next day in Madrid (CEST)"
        );
        assert_eq!(cells[2], "60");
        assert_eq!((cells[5].as_str(), cells[6].as_str()), ("0.0500", "0.1000"));
        assert_eq!(&cells[10..], ["client", "carrier", "", ""]);
    }

    #[test]
    fn client_rows_hide_price_when_asked() {
        let f = RowFormat {
            level: Level::Client,
            timezone: chrono_tz::UTC,
            show_price: false,
        };
        let cells = row(&call(), &f);
        assert_eq!(cells.len(), CLIENT_COLUMNS.len());
        assert_eq!(cells[5], "");
        assert_eq!(cells[1], "2026-07-01 22:30:05");
    }
}
