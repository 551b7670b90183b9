//! callcsv's own rows, as `POST /billable_calls` takes them (the fields of
//! [`crate::calls::input::FIELDS`]): JSON objects (one, an array, or one per line) or CSV
//! with a header of those names. Every row is an answered call; `startTime` has an offset.

use std::io::{BufReader, Read};

use serde_json::Value;

use super::{first_byte, json_object, json_text, with_header, CsvReader, JsonReader};
use crate::calls::input::FIELDS;
use crate::sources::{
    non_empty, required, seconds, Direction, Disposition, Fields, Outcome, ReadOptions, Record,
    RecordReader, Rejection, Start,
};

const NEEDED: &[&str] = &["callid", "startTime", "duration", "caller", "callee"];

pub fn reader<'a, R: Read + 'a>(input: R, options: &ReadOptions) -> Box<dyn RecordReader + 'a> {
    let mut input = BufReader::new(input);
    if matches!(first_byte(&mut input), Ok(Some(b'{' | b'['))) {
        let parse = |number: u64, bytes: &[u8]| {
            vec![json_object(bytes)
                .map_err(|message| Rejection::new(number, None, message))
                .and_then(|object| from_json(number, &object))]
        };
        return Box::new(JsonReader::new(input, options.growing, parse));
    }
    let mut by_header = with_header(NEEDED, record);
    // A column outside the API's fields makes the file unreadable, as the API refuses it:
    // every row is rejected with the header's problem.
    let mut header_problem: Option<Option<String>> = None;
    let parse = move |row: crate::sources::read::Row| match &header_problem {
        None => {
            let problem = row
                .cells
                .iter()
                .find(|c| !FIELDS.contains(&c.trim()))
                .map(|unknown| format!("CSV header: unknown column {unknown:?}"));
            header_problem = Some(problem.clone());
            match problem {
                Some(message) => Some(Err(Rejection::new(row.line, None, message))),
                None => by_header(row),
            }
        }
        Some(Some(message)) => Some(Err(Rejection::new(row.line, None, message.clone()))),
        Some(None) => by_header(row),
    };
    Box::new(CsvReader::new(input, options.growing, parse))
}

fn from_json(number: u64, object: &serde_json::Map<String, Value>) -> Outcome {
    let mut pairs = Vec::with_capacity(object.len());
    for (key, value) in object {
        let callid = object.get("callid").and_then(Value::as_str);
        if !FIELDS.contains(&key.as_str()) {
            return Err(Rejection::new(
                number,
                callid,
                format!("{key}: unknown field"),
            ));
        }
        match value {
            Value::Null => {}
            Value::Array(_) | Value::Object(_) => {
                return Err(Rejection::new(
                    number,
                    callid,
                    format!("{key}: must be a string or a number"),
                ))
            }
            scalar => pairs.extend(json_text(scalar).map(|t| (key.clone(), t))),
        }
    }
    record(number, Fields::from_pairs(pairs))
}

fn record(line: u64, fields: Fields) -> Outcome {
    let callid = fields.get("callid").unwrap_or("").trim().to_string();
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    required(&fields, "callid").map_err(reject)?;
    let start_text = required(&fields, "startTime").map_err(reject)?;
    let start = crate::fields::parse_time(start_text).ok_or_else(|| {
        reject(format!(
            "startTime: {start_text:?} is not an RFC 3339 time with an offset"
        ))
    })?;
    let direction_hint = match non_empty(fields.get("direction")) {
        None => None,
        Some(d) => match Direction::from_name(&d) {
            Some(d @ (Direction::Inbound | Direction::Outbound)) => Some(d),
            _ => return Err(reject("direction: inbound or outbound".into())),
        },
    };
    Ok(Record {
        line,
        billed_seconds: seconds("duration", required(&fields, "duration").map_err(reject)?)
            .map_err(reject)?,
        caller: required(&fields, "caller").map_err(reject)?.to_string(),
        callee: required(&fields, "callee").map_err(reject)?.to_string(),
        carrier_hint: non_empty(fields.get("carrier")),
        source_ip: non_empty(fields.get("sourceIp")),
        callid: callid.clone(),
        start: Start::Utc(start.and_utc()),
        disposition: Disposition::Answered,
        hangup_cause: None,
        direction_hint,
        b_leg: false,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format};

    fn read(input: &str) -> Vec<Outcome> {
        records(Format::Callcsv, input.as_bytes(), &ReadOptions::default())
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn json_rows_as_the_api_takes_them() {
        let out = read(
            r#"[{"callid":"a","startTime":"2026-01-31T10:00:00+01:00","duration":12.2,"caller":"+34911111111","callee":"+34600000000","direction":"outbound","carrier":"c1","client":"cl-9"},
                {"callid":"b","colour":"red"},
                {"callid":"c","startTime":"2026-01-31T10:00:00Z","duration":"1","caller":"1","callee":"2","direction":"sideways"}]"#,
        );
        let a = out[0].as_ref().unwrap();
        assert_eq!(a.billed_seconds, 13);
        assert_eq!(a.start, Start::Utc("2026-01-31T09:00:00Z".parse().unwrap()));
        assert_eq!(a.direction_hint, Some(Direction::Outbound));
        assert_eq!(a.carrier_hint.as_deref(), Some("c1"));
        assert_eq!(a.fields.get("client"), Some("cl-9"));
        assert_eq!(a.disposition, Disposition::Answered);
        assert_eq!(
            out[1].as_ref().unwrap_err().message,
            "colour: unknown field"
        );
        assert!(out[2]
            .as_ref()
            .unwrap_err()
            .message
            .starts_with("direction"));
    }

    #[test]
    fn csv_rows_with_the_apis_header() {
        let out = read("callid,startTime,duration,caller,callee\nx,2026-01-31T10:00:00Z,60,+34911111111,+34600000000\n");
        assert_eq!(out[0].as_ref().unwrap().billed_seconds, 60);
        let unknown = read("callid,startTime,duration,caller,callee,colour\n");
        assert!(unknown[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("unknown column \"colour\""));
    }
}
