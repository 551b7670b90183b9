//! Webex Calling detailed call history: the API's pages (`{"items": […]}`, also one item
//! per line) or Control Hub's CSV export, with the keys as Webex spells them (`Report ID`,
//! `Start time`, `Calling number`…). `Answered` is the string `"true"`. Numbers are E.164.

use std::io::{BufReader, Read};

use serde_json::Value;

use super::{first_byte, json_fields, json_object, with_header, CsvReader, JsonReader};
use crate::sources::{
    non_empty, number_field, required, seconds, Direction, Disposition, Fields, Outcome,
    ReadOptions, Record, RecordReader, Rejection, Start,
};

const NEEDED: &[&str] = &[
    "Report ID",
    "Start time",
    "Answered",
    "Duration",
    "Calling number",
    "Called number",
];

pub fn reader<'a, R: Read + 'a>(input: R, options: &ReadOptions) -> Box<dyn RecordReader + 'a> {
    let mut input = BufReader::new(input);
    if matches!(first_byte(&mut input), Ok(Some(b'{' | b'['))) {
        // Items are numbered across pages: the n-th record of the input is record n.
        let mut count = 0u64;
        let parse = move |number: u64, bytes: &[u8]| {
            let page = match json_object(bytes) {
                Ok(page) => page,
                Err(message) => {
                    count += 1;
                    return vec![Err(Rejection::new(number, None, message))];
                }
            };
            let items = match page.get("items") {
                Some(Value::Array(items)) => items.clone(),
                Some(_) => vec![Value::Null],
                None => vec![Value::Object(page)],
            };
            items
                .iter()
                .map(|item| {
                    count += 1;
                    match item {
                        Value::Object(item) => record(count, json_fields(item)),
                        _ => Err(Rejection::new(count, None, "an item must be a JSON object")),
                    }
                })
                .collect()
        };
        return Box::new(JsonReader::new(input, options.growing, parse));
    }
    Box::new(CsvReader::new(
        input,
        options.growing,
        with_header(NEEDED, record),
    ))
}

fn record(line: u64, fields: Fields) -> Outcome {
    let callid = fields.get("Report ID").unwrap_or("").trim().to_string();
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    required(&fields, "Report ID").map_err(reject)?;
    let start_text = required(&fields, "Start time").map_err(reject)?;
    let start = crate::fields::parse_time(start_text).ok_or_else(|| {
        reject(format!(
            "Start time: {start_text:?} is not an RFC 3339 time"
        ))
    })?;
    let answered = fields.get("Answered").map(str::trim) == Some("true");
    let disposition = match (answered, fields.get("Call outcome").map(str::trim)) {
        (true, _) => Disposition::Answered,
        (false, Some("Failure")) => Disposition::Failed,
        (false, Some("Refusal")) => Disposition::Busy,
        (false, _) => Disposition::NoAnswer,
    };
    let direction_hint = match fields.get("Direction").map(str::trim) {
        Some("ORIGINATING") => Some(Direction::Outbound),
        Some("TERMINATING") => Some(Direction::Inbound),
        _ => None,
    };
    // A call never answered may come without a duration.
    let billed_seconds = match (answered, non_empty(fields.get("Duration"))) {
        (false, None) => 0,
        (_, duration) => seconds("Duration", duration.as_deref().unwrap_or("")).map_err(reject)?,
    };
    Ok(Record {
        line,
        billed_seconds,
        caller: number_field(&fields, "Calling number").map_err(reject)?,
        callee: number_field(&fields, "Called number").map_err(reject)?,
        carrier_hint: non_empty(fields.get("PSTN Vendor Name"))
            .or_else(|| non_empty(fields.get("Outbound trunk"))),
        callid: callid.clone(),
        start: Start::Utc(start.and_utc()),
        disposition,
        hangup_cause: None,
        direction_hint,
        b_leg: false,
        source_ip: None,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format};

    fn read(input: &str) -> Vec<Outcome> {
        records(Format::WebexCdr, input.as_bytes(), &ReadOptions::default())
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn api_pages_of_items() {
        let page = r#"{"items": [
            {"Report ID": "r-1", "Start time": "2026-03-01T10:00:00.123Z", "Answered": "true",
             "Duration": 61, "Calling number": "+34911111111", "Called number": "+442079460000",
             "Direction": "ORIGINATING", "PSTN Vendor Name": "", "Outbound trunk": "trunk-a",
             "Call type": "SIP_INTERNATIONAL"},
            {"Report ID": "r-2", "Start time": "2026-03-01T10:05:00Z", "Answered": "false",
             "Calling number": "+442079460000", "Called number": "+34911111111",
             "Direction": "TERMINATING", "Call outcome": "Failure"},
            "not an object"
        ]}
        {"items": [{"Report ID": "r-4", "Start time": "yesterday"}]}"#;
        let out = read(page);
        assert_eq!(out.len(), 4);
        let first = out[0].as_ref().unwrap();
        assert_eq!(first.callid, "r-1");
        assert_eq!(first.billed_seconds, 61);
        assert_eq!(first.disposition, Disposition::Answered);
        assert_eq!(first.direction_hint, Some(Direction::Outbound));
        assert_eq!(
            first.carrier_hint.as_deref(),
            Some("trunk-a"),
            "the vendor is empty"
        );
        assert_eq!(first.fields.get("Call type"), Some("SIP_INTERNATIONAL"));
        let second = out[1].as_ref().unwrap();
        assert_eq!(second.disposition, Disposition::Failed);
        assert_eq!(
            second.billed_seconds, 0,
            "no Duration on a call never answered"
        );
        assert_eq!(second.direction_hint, Some(Direction::Inbound));
        assert_eq!(out[2].as_ref().unwrap_err().line, 3);
        let bad_time = out[3].as_ref().unwrap_err();
        assert_eq!(
            (bad_time.line, bad_time.callid.as_deref()),
            (4, Some("r-4"))
        );
    }

    #[test]
    fn the_control_hub_csv_export() {
        let input = "\u{feff}Report ID,Start time,Answered,Duration,Calling number,Called number,Direction,PSTN Vendor Name,Outbound trunk\n\
                     r-9,2026-03-01T10:00:00Z,true,30,+34911111111,+34600000000,ORIGINATING,Vendor S.A.,trunk-b\n\
                     r-10,2026-03-01T10:01:00Z,TRUE,30,+34911111111,+34600000000,ORIGINATING,,\n";
        let out = read(input);
        let first = out[0].as_ref().unwrap();
        assert_eq!(first.carrier_hint.as_deref(), Some("Vendor S.A."));
        assert_eq!(first.disposition, Disposition::Answered);
        assert_eq!(
            out[1].as_ref().unwrap().disposition,
            Disposition::NoAnswer,
            "only the string \"true\" is an answer"
        );
    }
}
