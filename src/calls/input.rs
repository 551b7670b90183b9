//! Posted call rows before validation: one JSON object, a JSON array, or CSV with a header
//! row using the API's field names. Every field arrives as optional text so each row can be
//! judged on its own; structural problems of one row (unknown field, nested value) are
//! kept on that row instead of failing the request.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{AppError, AppResult};

/// Most rows one request may carry.
pub const MAX_ROWS: usize = 100_000;

/// The API field names a call row may carry, in CSV column order.
pub const FIELDS: &[&str] = &[
    "callid",
    "startTime",
    "duration",
    "caller",
    "callee",
    "direction",
    "brand",
    "client",
    "carrier",
    "ddi",
    "ddiProvider",
    "sourceIp",
    "endpointType",
    "endpointId",
];

#[derive(Debug, Default, Clone)]
pub struct RawCall {
    pub callid: Option<String>,
    pub start_time: Option<String>,
    pub duration: Option<String>,
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub direction: Option<String>,
    pub brand: Option<String>,
    pub client: Option<String>,
    pub carrier: Option<String>,
    pub ddi: Option<String>,
    pub ddi_provider: Option<String>,
    pub source_ip: Option<String>,
    pub endpoint_type: Option<String>,
    pub endpoint_id: Option<String>,
    /// Why the row cannot even be read (reported as its rejection reason).
    pub problem: Option<String>,
}

impl RawCall {
    /// Sets a field by its API name; `false` for an unknown name.
    fn set(&mut self, name: &str, value: Option<String>) -> bool {
        let value = value.filter(|v| !v.trim().is_empty());
        let slot = match name {
            "callid" => &mut self.callid,
            "startTime" => &mut self.start_time,
            "duration" => &mut self.duration,
            "caller" => &mut self.caller,
            "callee" => &mut self.callee,
            "direction" => &mut self.direction,
            "brand" => &mut self.brand,
            "client" => &mut self.client,
            "carrier" => &mut self.carrier,
            "ddi" => &mut self.ddi,
            "ddiProvider" => &mut self.ddi_provider,
            "sourceIp" => &mut self.source_ip,
            "endpointType" => &mut self.endpoint_type,
            "endpointId" => &mut self.endpoint_id,
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// A JSON scalar as text; anything else is the row's problem.
fn scalar_text(field: &str, value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(format!("{field}: must be a string or a number")),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Value>),
    One(serde_json::Map<String, Value>),
}

fn from_json_object(map: &serde_json::Map<String, Value>) -> RawCall {
    let mut call = RawCall::default();
    let mut problems = vec![];
    for (key, value) in map {
        match scalar_text(key, value) {
            Ok(text) => {
                if !call.set(key, text) {
                    problems.push(format!("{key}: unknown field"));
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        call.problem = Some(problems.join("; "));
    }
    call
}

/// Parses a JSON body (one object or an array of objects).
pub fn parse_json(body: &[u8]) -> AppResult<Vec<RawCall>> {
    let parsed: OneOrMany = serde_json::from_slice(body).map_err(|e| {
        AppError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("malformed JSON (expected an object or an array of objects): {e}"),
        )
    })?;
    let rows = match parsed {
        OneOrMany::One(map) => vec![from_json_object(&map)],
        OneOrMany::Many(values) => {
            check_row_count(values.len())?;
            values
                .iter()
                .map(|v| match v {
                    Value::Object(map) => from_json_object(map),
                    _ => RawCall {
                        problem: Some("a row must be a JSON object".into()),
                        ..Default::default()
                    },
                })
                .collect()
        }
    };
    Ok(rows)
}

/// Parses a CSV body whose header names the columns (any order, any subset of [`FIELDS`]).
pub fn parse_csv(body: &[u8]) -> AppResult<Vec<RawCall>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| AppError::bad_request(format!("CSV header row: {e}")))?
        .clone();
    for name in headers.iter() {
        if !FIELDS.contains(&name) {
            return Err(AppError::bad_request(format!(
                "CSV header: unknown column {name:?} (columns: {})",
                FIELDS.join(", ")
            )));
        }
    }
    let mut rows = vec![];
    for record in reader.records() {
        if rows.len() >= MAX_ROWS {
            check_row_count(rows.len() + 1)?;
        }
        let row = match record {
            Err(e) => RawCall {
                problem: Some(format!("unreadable CSV row: {e}")),
                ..Default::default()
            },
            Ok(record) if record.len() != headers.len() => RawCall {
                problem: Some(format!(
                    "{} cells where the header has {}",
                    record.len(),
                    headers.len()
                )),
                ..Default::default()
            },
            Ok(record) => {
                let mut call = RawCall::default();
                for (name, cell) in headers.iter().zip(record.iter()) {
                    call.set(name, Some(cell.to_string()));
                }
                call
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

fn check_row_count(n: usize) -> AppResult<()> {
    if n > MAX_ROWS {
        return Err(AppError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("at most {MAX_ROWS} rows per request"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_keep_their_own_problems() {
        let rows = parse_json(br#"[{"callid":"a","duration":12.5},{"callid":"b","colour":"red"},{"callid":{"x":1}},3]"#).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].duration.as_deref(), Some("12.5"));
        assert!(rows[0].problem.is_none());
        assert!(rows[1].problem.as_deref().unwrap().contains("colour"));
        assert!(rows[2].problem.is_some());
        assert!(rows[3].problem.is_some());
        assert_eq!(parse_json(br#"{"callid":"x"}"#).unwrap().len(), 1);
        assert!(parse_json(b"[{").is_err());
    }

    #[test]
    fn csv_columns_by_header() {
        let rows = parse_csv(b"callee,callid\n+34911,a\n+34912\n").unwrap();
        assert_eq!(rows[0].callid.as_deref(), Some("a"));
        assert_eq!(rows[0].callee.as_deref(), Some("+34911"));
        assert!(rows[1].problem.is_some());
        assert!(parse_csv(b"callid,colour\na,b\n").is_err());
    }
}
