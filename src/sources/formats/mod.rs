//! One module per format: each turns a CSV row or a JSON object into an [`Outcome`]. The
//! two readers here drive them over an input, one record at a time.

pub mod asterisk_csv;
pub mod callcsv;
pub mod cdrstats_csv;
pub mod chime_json;
pub mod cucm_cdr;
pub mod freeswitch_csv;
pub mod freeswitch_json;
pub mod webex_cdr;

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use serde_json::Value;

use super::read::{Chunk, CsvRows, JsonObjects, Row};
use super::{Outcome, RecordReader, Rejection};
use crate::error::AppResult;

/// Records from CSV rows: `parse` turns a row into its outcome, or `None` for a row that
/// is not a record (a header row).
pub(super) struct CsvReader<R: Read, F> {
    rows: CsvRows<R>,
    parse: F,
    failed: bool,
}

impl<R: Read, F: FnMut(Row) -> Option<Outcome>> CsvReader<R, F> {
    pub(super) fn new(input: R, growing: bool, parse: F) -> CsvReader<R, F> {
        CsvReader {
            rows: CsvRows::new(input, growing),
            parse,
            failed: false,
        }
    }
}

impl<R: Read, F: FnMut(Row) -> Option<Outcome>> Iterator for CsvReader<R, F> {
    type Item = AppResult<Outcome>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            match self.rows.next_row() {
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Ok(None) => return None,
                Ok(Some(row)) => {
                    if let Some(outcome) = (self.parse)(row) {
                        return Some(Ok(outcome));
                    }
                }
            }
        }
        None
    }
}

impl<R: Read, F: FnMut(Row) -> Option<Outcome>> RecordReader for CsvReader<R, F> {
    fn offset(&self) -> u64 {
        self.rows.offset()
    }
}

/// Records from top-level JSON objects: `parse` gets each object's number and bytes and
/// returns its records (a Webex page holds many).
pub(super) struct JsonReader<R: Read, F> {
    objects: JsonObjects<R>,
    parse: F,
    queue: VecDeque<Outcome>,
    failed: bool,
}

impl<R: Read, F: FnMut(u64, &[u8]) -> Vec<Outcome>> JsonReader<R, F> {
    pub(super) fn new(input: R, growing: bool, parse: F) -> JsonReader<R, F> {
        JsonReader {
            objects: JsonObjects::new(input, growing),
            parse,
            queue: VecDeque::new(),
            failed: false,
        }
    }
}

impl<R: Read, F: FnMut(u64, &[u8]) -> Vec<Outcome>> Iterator for JsonReader<R, F> {
    type Item = AppResult<Outcome>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(outcome) = self.queue.pop_front() {
                return Some(Ok(outcome));
            }
            if self.failed {
                return None;
            }
            match self.objects.next_chunk() {
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Ok(None) => return None,
                Ok(Some(Chunk::Broken { number, message })) => {
                    return Some(Ok(Err(Rejection::new(number, None, message))))
                }
                Ok(Some(Chunk::Object { number, bytes })) => {
                    self.queue.extend((self.parse)(number, &bytes));
                }
            }
        }
    }
}

impl<R: Read, F: FnMut(u64, &[u8]) -> Vec<Outcome>> RecordReader for JsonReader<R, F> {
    fn offset(&self) -> u64 {
        self.objects.offset()
    }
}

/// A header row's names, trimmed.
fn header_names(cells: Vec<String>) -> Arc<[String]> {
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// A JSON scalar as text (`null` and nested values are not field values).
fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An object's scalar members as fields, in the object's order.
fn json_fields(object: &serde_json::Map<String, Value>) -> super::Fields {
    super::Fields::from_pairs(
        object
            .iter()
            .filter_map(|(k, v)| json_text(v).map(|t| (k.clone(), t)))
            .collect(),
    )
}

/// A JSON object, or why the bytes are not one.
fn json_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("malformed JSON: {e}")),
    }
}

/// A reader's first significant byte (after a byte order mark and white space), without
/// consuming anything: tells a JSON input from a CSV one.
fn first_byte<R: Read>(input: &mut std::io::BufReader<R>) -> std::io::Result<Option<u8>> {
    use std::io::BufRead;
    let buf = input.fill_buf()?;
    let buf = buf.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(buf);
    Ok(buf.iter().copied().find(|b| !b.is_ascii_whitespace()))
}

/// The row parser of a CSV format with a header row: the first row names the columns and
/// must have every name in `needed`; each later row is a record by those names. A header
/// without them makes every row a rejection saying so (a file of another format).
fn with_header(
    needed: &'static [&'static str],
    record: fn(u64, super::Fields) -> Outcome,
) -> impl FnMut(Row) -> Option<Outcome> {
    let mut header: Option<Result<Arc<[String]>, String>> = None;
    move |row: Row| {
        let Some(names) = &header else {
            let names = header_names(row.cells);
            let missing: Vec<&str> = needed
                .iter()
                .copied()
                .filter(|n| !names.iter().any(|h| h == n))
                .collect();
            header = Some(if missing.is_empty() {
                Ok(names)
            } else {
                Err(format!(
                    "the header row lacks {} (is the file of this source's format?)",
                    missing.join(", ")
                ))
            });
            return match &header {
                Some(Err(message)) => Some(Err(Rejection::new(row.line, None, message.clone()))),
                _ => None,
            };
        };
        let names = match names {
            Ok(names) => names.clone(),
            Err(message) => return Some(Err(Rejection::new(row.line, None, message.clone()))),
        };
        if row.cells.len() != names.len() {
            return Some(Err(Rejection::new(
                row.line,
                None,
                format!(
                    "{} cells where the header has {}",
                    row.cells.len(),
                    names.len()
                ),
            )));
        }
        Some(record(row.line, super::Fields::new(names, row.cells)))
    }
}
