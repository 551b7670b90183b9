//! FreeSWITCH `mod_json_cdr` documents: one per call leg, as files (one per file or per
//! line), or posted by the switch (raw JSON, or the `cdr=` form FreeSWITCH posts when
//! `encode` is on). Values may be URL-encoded (`encode-values`): every value is decoded.
//! Older FreeSWITCH versions write `callflow` not as an array but as the same object key
//! repeated, newest profile first; the first is taken, which a plain JSON map (keeping the
//! last of duplicate keys) would get wrong, hence the hand-written [`Document`] reader.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::sync::LazyLock;

use percent_encoding::percent_decode_str;
use regex::Regex;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{json_text, JsonReader};
use crate::sources::{
    epoch, non_empty, number_field, q850, required, seconds, seconds_from_millis, Disposition,
    Fields, Outcome, ReadOptions, Record, RecordReader, Rejection,
};

/// The gateway of a bridge through one: `sofia/gateway/carrier1/0034911…` → `carrier1`.
static GATEWAY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"sofia/gateway/([^/]+)/").expect("valid regex"));

/// Largest `cdr=` form body decoded whole (a posted document is tens of KiB).
const MAX_FORM_BYTES: u64 = 16 * 1024 * 1024;

pub fn reader<'a, R: Read + 'a>(input: R, options: &ReadOptions) -> Box<dyn RecordReader + 'a> {
    let mut input = BufReader::new(input);
    let form = matches!(input.fill_buf(), Ok(head) if head.starts_with(b"cdr="));
    let parse = |number: u64, bytes: &[u8]| vec![record(number, bytes)];
    if form {
        // A posted form is one document, small enough to decode whole.
        let mut body = Vec::new();
        let decoded: Box<dyn Read> = match input.take(MAX_FORM_BYTES).read_to_end(&mut body) {
            Ok(_) => Box::new(std::io::Cursor::new(form_document(&body))),
            Err(e) => Box::new(Failed(Some(e))),
        };
        return Box::new(JsonReader::new(decoded, false, parse));
    }
    Box::new(JsonReader::new(input, options.growing, parse))
}

/// An input whose reading failed: gives the error to the reader, which reports it.
struct Failed(Option<std::io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| std::io::ErrorKind::Other.into()))
    }
}

/// The document of a `cdr=<url-encoded JSON>` form body (`+` is a space there).
fn form_document(body: &[u8]) -> Vec<u8> {
    url::form_urlencoded::parse(body)
        .find(|(name, _)| name == "cdr")
        .map(|(_, value)| value.into_owned().into_bytes())
        .unwrap_or_default()
}

/// The parts of a document a record needs: `variables`, and the first `callflow`.
#[derive(Default)]
struct Document {
    variables: Map<String, Value>,
    callflow: Option<Value>,
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_map(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mod_json_cdr document (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut document = Document::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "variables" => document.variables = map.next_value()?,
                "callflow" => {
                    let callflow: Value = map.next_value()?;
                    // Repeated keys: the first one is the newest profile.
                    document.callflow.get_or_insert(callflow);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(document)
    }
}

/// A value as FreeSWITCH meant it: URL-decoded (`%2B34…` → `+34…`; a `+` stays a `+`).
fn decoded(value: &Value) -> Option<String> {
    json_text(value).map(|t| percent_decode_str(&t).decode_utf8_lossy().into_owned())
}

fn record(number: u64, bytes: &[u8]) -> Outcome {
    let document: Document = serde_json::from_slice(bytes)
        .map_err(|e| Rejection::new(number, None, format!("malformed document: {e}")))?;
    // The first callflow entry (an array's first element, or the first repeated key).
    let callflow = match &document.callflow {
        Some(Value::Array(items)) => items.first(),
        other => other.as_ref(),
    };
    let profile = callflow
        .and_then(|c| c.get("caller_profile"))
        .and_then(Value::as_object);
    let mut pairs: Vec<(String, String)> = document
        .variables
        .iter()
        .filter_map(|(k, v)| decoded(v).map(|t| (format!("variables.{k}"), t)))
        .collect();
    if let Some(profile) = profile {
        pairs.extend(
            profile.iter().filter_map(|(k, v)| {
                decoded(v).map(|t| (format!("callflow.caller_profile.{k}"), t))
            }),
        );
    }
    let fields = Fields::from_pairs(pairs);
    let callid = fields
        .get("variables.uuid")
        .unwrap_or("")
        .trim()
        .to_string();
    let reject = |message: String| Rejection::new(number, Some(&callid), message);
    required(&fields, "variables.uuid").map_err(reject)?;
    if profile.is_none() {
        return Err(reject("callflow: no caller_profile".into()));
    }
    let answered = fields
        .get("variables.answer_epoch")
        .is_some_and(|e| !matches!(e.trim(), "" | "0"));
    // billmsec is exact; billsec is FreeSWITCH's own rounding (66 for 65039 ms, but 65
    // for 65400): both round up here.
    let billed_seconds = match non_empty(fields.get("variables.billmsec")) {
        Some(ms) => seconds_from_millis("variables.billmsec", &ms),
        None => seconds(
            "variables.billsec",
            fields.get("variables.billsec").unwrap_or(""),
        ),
    }
    .map_err(reject)?;
    let start = epoch(
        "variables.start_epoch",
        required(&fields, "variables.start_epoch").map_err(reject)?,
    )
    .map_err(reject)?;
    let cause_name = fields.get("variables.hangup_cause").unwrap_or("").trim();
    let hangup_cause = fields
        .get("variables.hangup_cause_q850")
        .and_then(q850)
        .or_else(|| super::freeswitch_csv::cause_number(cause_name));
    let disposition = if answered {
        Disposition::Answered
    } else {
        super::freeswitch_csv::unanswered_disposition(cause_name, hangup_cause)
    };
    let carrier_hint = non_empty(fields.get("variables.sip_gateway_name")).or_else(|| {
        fields
            .get("variables.last_arg")
            .and_then(|arg| GATEWAY.captures(arg))
            .map(|c| c[1].to_string())
    });
    let source_ip = non_empty(fields.get("variables.sip_network_ip"))
        .or_else(|| non_empty(fields.get("variables.sip_received_ip")));
    Ok(Record {
        line: number,
        caller: number_field(&fields, "callflow.caller_profile.caller_id_number")
            .map_err(reject)?,
        callee: number_field(&fields, "callflow.caller_profile.destination_number")
            .map_err(reject)?,
        b_leg: profile.is_some_and(|p| p.contains_key("originator")),
        callid: callid.clone(),
        start: crate::sources::Start::Utc(start),
        billed_seconds,
        disposition,
        hangup_cause,
        carrier_hint,
        direction_hint: None,
        source_ip,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format, Start};

    fn read(input: &[u8]) -> Vec<Outcome> {
        records(Format::FreeswitchJson, input, &ReadOptions::default())
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    /// The shape of a real 2015 A-leg document: `callflow` twice as a key (newest profile
    /// first, the A-leg's with an `originatee`), billsec 66 against billmsec 65039.
    const A_LEG_2015: &str = r#"{
        "channel_data": {"state": "CS_REPORTING", "direction": "inbound"},
        "variables": {
            "uuid": "e3133bf7-dcde-4daf-9663-9a79ffcef5ad",
            "sip_network_ip": "127.0.0.1",
            "start_epoch": "1436280728",
            "answer_epoch": "1436280728",
            "billsec": "66",
            "billmsec": "65039",
            "hangup_cause": "NORMAL_CLEARING",
            "hangup_cause_q850": "16",
            "last_arg": "sofia/gateway/carrier1/0034911222333",
            "accountcode": "1001"
        },
        "app_log": {"application": [{"app_name": "bridge", "app_data": "x"}]},
        "callflow": {
            "dialplan": "XML", "profile_index": "2",
            "caller_profile": {
                "caller_id_number": "1001", "destination_number": "0034911222333",
                "originatee": {"originatee_caller_profile": {"caller_id_number": "1001"}}
            }
        },
        "callflow": {
            "dialplan": "XML", "profile_index": "1",
            "caller_profile": {"caller_id_number": "1001", "destination_number": "OLD"}
        }
    }"#;

    #[test]
    fn a_repeated_callflow_key_takes_the_first_and_billmsec_rounds_up() {
        let out = read(A_LEG_2015.as_bytes());
        assert_eq!(out.len(), 1);
        let record = out[0].as_ref().unwrap();
        assert_eq!(record.callid, "e3133bf7-dcde-4daf-9663-9a79ffcef5ad");
        assert_eq!(
            record.callee, "0034911222333",
            "the first callflow, not the last"
        );
        assert_eq!(record.caller, "1001");
        assert_eq!(record.billed_seconds, 66);
        assert!(!record.b_leg);
        assert_eq!(record.disposition, Disposition::Answered);
        assert_eq!(record.hangup_cause, Some(16));
        assert_eq!(record.carrier_hint.as_deref(), Some("carrier1"));
        assert_eq!(record.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            record.start,
            Start::Utc(chrono::DateTime::from_timestamp(1436280728, 0).unwrap())
        );
        assert_eq!(record.fields.get("variables.accountcode"), Some("1001"));
        // billmsec wins over FreeSWITCH's own billsec, which rounds to nearest.
        let rounded_down = A_LEG_2015
            .replace("\"65039\"", "\"65400\"")
            .replace("\"66\"", "\"65\"");
        assert_eq!(
            read(rounded_down.as_bytes())[0]
                .as_ref()
                .unwrap()
                .billed_seconds,
            66
        );
        let without_millis = A_LEG_2015.replace("\"billmsec\": \"65039\",", "");
        assert_eq!(
            read(without_millis.as_bytes())[0]
                .as_ref()
                .unwrap()
                .billed_seconds,
            66
        );
    }

    #[test]
    fn url_encoded_values_b_legs_and_the_cdr_form() {
        let b_leg = r#"{"variables":{"uuid":"b%2D1","start_epoch":"1700000000","answer_epoch":"0","billsec":"0","hangup_cause":"NO_ANSWER","sip_gateway_name":"gw%20two"},
            "callflow":[{"caller_profile":{"caller_id_number":"%2B34911222333","destination_number":"1002","originator":{"originator_caller_profiles":[]}}}]}"#;
        let out = read(b_leg.as_bytes());
        let record = out[0].as_ref().unwrap();
        assert_eq!(record.callid, "b-1");
        assert_eq!(record.caller, "+34911222333");
        assert!(record.b_leg);
        assert_eq!(record.disposition, Disposition::NoAnswer);
        assert_eq!(record.hangup_cause, Some(19));
        assert_eq!(record.carrier_hint.as_deref(), Some("gw two"));
        // FreeSWITCH posting with encoding on: the whole document as a form field.
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("cdr", A_LEG_2015)
            .finish();
        let out = read(form.as_bytes());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap().billed_seconds, 66);
        // A form whose body breaks off while read is the input's error, not zero records.
        let broken = std::io::Read::chain(&b"cdr=%7B"[..], Broken);
        let mut reader = records(Format::FreeswitchJson, broken, &ReadOptions::default()).unwrap();
        assert!(reader.next().unwrap().is_err());
    }

    struct Broken;

    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::ConnectionReset.into())
        }
    }

    #[test]
    fn one_broken_document_is_one_rejection() {
        let input = format!(
            "{}\n{{\"variables\":{{\"uuid\":\"x\"}}}}\n{{\"variables\": [}}\n{}\n",
            A_LEG_2015.replace('\n', " "),
            A_LEG_2015
                .replace("e3133bf7", "second00")
                .replace('\n', " ")
        );
        let out = read(input.as_bytes());
        assert_eq!(out.len(), 4);
        assert!(out[0].is_ok());
        let no_callflow = out[1].as_ref().unwrap_err();
        assert_eq!(
            (no_callflow.line, no_callflow.callid.as_deref()),
            (2, Some("x"))
        );
        assert!(out[2]
            .as_ref()
            .unwrap_err()
            .message
            .starts_with("malformed"));
        assert_eq!(
            out[3].as_ref().unwrap().callid,
            "second00-dcde-4daf-9663-9a79ffcef5ad"
        );
    }
}
