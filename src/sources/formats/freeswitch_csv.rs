//! FreeSWITCH `mod_cdr_csv`: one line per call, no header, the columns being the
//! template's variables in order (the source's `columns`, default FreeSWITCH's `example`
//! template). Times are local, without an offset.

use std::io::Read;
use std::sync::Arc;

use super::CsvReader;
use crate::error::{AppError, AppResult};
use crate::sources::read::Row;
use crate::sources::{
    non_empty, number_field, q850, required, seconds, start_time, Disposition, Fields, Outcome,
    ReadOptions, Record, RecordReader, Rejection,
};

/// The `example` template of FreeSWITCH's `cdr_csv.conf.xml`.
pub const DEFAULT_COLUMNS: [&str; 15] = [
    "caller_id_name",
    "caller_id_number",
    "destination_number",
    "context",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
    "bleg_uuid",
    "accountcode",
    "read_codec",
    "write_codec",
];

const NEEDED: [&str; 6] = [
    "caller_id_number",
    "destination_number",
    "start_stamp",
    "answer_stamp",
    "billsec",
    "uuid",
];

pub fn reader<'a, R: Read + 'a>(
    input: R,
    options: &ReadOptions,
) -> AppResult<Box<dyn RecordReader + 'a>> {
    let names: Arc<[String]> = match &options.columns {
        Some(columns) => columns.iter().map(|c| c.trim().to_string()).collect(),
        None => DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect(),
    };
    for needed in NEEDED {
        if !names.iter().any(|n| n == needed) {
            return Err(AppError::invalid_field(
                "columns",
                format!("{needed} is missing (needed: {})", NEEDED.join(", ")),
            ));
        }
    }
    let parse = move |row: Row| {
        if row.cells.len() != names.len() {
            return Some(Err(Rejection::new(
                row.line,
                None,
                format!(
                    "{} columns where the source's columns list {}",
                    row.cells.len(),
                    names.len()
                ),
            )));
        }
        Some(record(row.line, Fields::new(names.clone(), row.cells)))
    };
    Ok(Box::new(CsvReader::new(input, options.growing, parse)))
}

fn record(line: u64, fields: Fields) -> Outcome {
    let callid = fields.get("uuid").unwrap_or("").trim().to_string();
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    required(&fields, "uuid").map_err(reject)?;
    let start = start_time(
        "start_stamp",
        required(&fields, "start_stamp").map_err(reject)?,
    )
    .map_err(reject)?;
    let answered = non_empty(fields.get("answer_stamp")).is_some();
    let cause_name = fields.get("hangup_cause").unwrap_or("").trim();
    // A template may carry the number itself.
    let hangup_cause = fields
        .get("hangup_cause_q850")
        .and_then(q850)
        .or_else(|| cause_number(cause_name));
    let disposition = if answered {
        Disposition::Answered
    } else {
        unanswered_disposition(cause_name, hangup_cause)
    };
    Ok(Record {
        line,
        billed_seconds: seconds("billsec", fields.get("billsec").unwrap_or("")).map_err(reject)?,
        caller: number_field(&fields, "caller_id_number").map_err(reject)?,
        callee: number_field(&fields, "destination_number").map_err(reject)?,
        callid: callid.clone(),
        start,
        disposition,
        hangup_cause,
        carrier_hint: None,
        direction_hint: None,
        b_leg: false,
        source_ip: None,
        fields,
    })
}

/// The disposition of an unanswered FreeSWITCH call from its hangup cause name (which
/// also names causes that are not Q.850, like `ORIGINATOR_CANCEL`), else its number.
pub(super) fn unanswered_disposition(name: &str, number: Option<u16>) -> Disposition {
    match name {
        "ORIGINATOR_CANCEL" | "LOSE_RACE" => Disposition::Cancelled,
        "USER_BUSY" => Disposition::Busy,
        "NO_ANSWER" | "NO_USER_RESPONSE" | "ALLOTTED_TIMEOUT" => Disposition::NoAnswer,
        "NORMAL_CIRCUIT_CONGESTION" | "SWITCH_CONGESTION" => Disposition::Congestion,
        _ => Disposition::unanswered_from_cause(number),
    }
}

/// The Q.850 number of FreeSWITCH's cause names (`switch_types.h`); names of causes
/// outside Q.850 (`ORIGINATOR_CANCEL` is 487, a SIP code) have none.
pub(super) fn cause_number(name: &str) -> Option<u16> {
    Some(match name {
        "UNALLOCATED_NUMBER" => 1,
        "NO_ROUTE_TRANSIT_NET" => 2,
        "NO_ROUTE_DESTINATION" => 3,
        "CHANNEL_UNACCEPTABLE" => 6,
        "CALL_AWARDED_DELIVERED" => 7,
        "NORMAL_CLEARING" => 16,
        "USER_BUSY" => 17,
        "NO_USER_RESPONSE" => 18,
        "NO_ANSWER" => 19,
        "SUBSCRIBER_ABSENT" => 20,
        "CALL_REJECTED" => 21,
        "NUMBER_CHANGED" => 22,
        "REDIRECTION_TO_NEW_DESTINATION" => 23,
        "EXCHANGE_ROUTING_ERROR" => 25,
        "DESTINATION_OUT_OF_ORDER" => 27,
        "INVALID_NUMBER_FORMAT" => 28,
        "FACILITY_REJECTED" => 29,
        "RESPONSE_TO_STATUS_ENQUIRY" => 30,
        "NORMAL_UNSPECIFIED" => 31,
        "NORMAL_CIRCUIT_CONGESTION" => 34,
        "NETWORK_OUT_OF_ORDER" => 38,
        "NORMAL_TEMPORARY_FAILURE" => 41,
        "SWITCH_CONGESTION" => 42,
        "ACCESS_INFO_DISCARDED" => 43,
        "REQUESTED_CHAN_UNAVAIL" => 44,
        "PRE_EMPTED" => 45,
        "FACILITY_NOT_SUBSCRIBED" => 50,
        "OUTGOING_CALL_BARRED" => 52,
        "INCOMING_CALL_BARRED" => 54,
        "BEARERCAPABILITY_NOTAUTH" => 57,
        "BEARERCAPABILITY_NOTAVAIL" => 58,
        "SERVICE_UNAVAILABLE" => 63,
        "BEARERCAPABILITY_NOTIMPL" => 65,
        "CHAN_NOT_IMPLEMENTED" => 66,
        "FACILITY_NOT_IMPLEMENTED" => 69,
        "SERVICE_NOT_IMPLEMENTED" => 79,
        "INVALID_CALL_REFERENCE" => 81,
        "INCOMPATIBLE_DESTINATION" => 88,
        "INVALID_MSG_UNSPECIFIED" => 95,
        "MANDATORY_IE_MISSING" => 96,
        "MESSAGE_TYPE_NONEXIST" => 97,
        "WRONG_MESSAGE" => 98,
        "IE_NONEXIST" => 99,
        "INVALID_IE_CONTENTS" => 100,
        "WRONG_CALL_STATE" => 101,
        "RECOVERY_ON_TIMER_EXPIRE" => 102,
        "MANDATORY_IE_LENGTH_ERROR" => 103,
        "PROTOCOL_ERROR" => 111,
        "INTERWORKING" => 127,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format};

    fn read(input: &str, options: &ReadOptions) -> Vec<Outcome> {
        records(Format::FreeswitchCsv, input.as_bytes(), options)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn the_example_template_is_the_default() {
        let input = concat!(
            "\"Outbound Call\",\"800123123\",\"34650881188\",\"default\",\"2015-01-14 17:58:01\",\"2015-01-14 17:58:01\",\"2015-01-14 17:59:56\",\"115\",\"115\",\"NORMAL_CLEARING\",\"2bbe83f7-5111-4b5b-9626-c5154608d4ee\",\"\",\"acc9\",\"PCMA\",\"PCMA\"\n",
            "\"Outbound Call\",\"800123123\",\"34650881100\",\"default\",\"2015-01-14 17:59:02\",\"\",\"2015-01-14 17:59:17\",\"15\",\"0\",\"USER_BUSY\",\"9f0e5f1c-0000-4b5b-1324-000000000002\",\"\",\"\",\"PCMA\",\"PCMA\"\n",
            "\"Outbound Call\",\"800123123\",\"34650881101\",\"default\",\"2015-01-14 17:59:02\",\"\",\"2015-01-14 17:59:17\",\"15\",\"0\",\"ORIGINATOR_CANCEL\",\"9f0e5f1c-0000-4b5b-1324-000000000003\",\"\",\"\",\"PCMA\",\"PCMA\"\n",
            "\"short\",\"line\"\n",
        );
        let out = read(input, &ReadOptions::default());
        let answered = out[0].as_ref().unwrap();
        assert_eq!(answered.callid, "2bbe83f7-5111-4b5b-9626-c5154608d4ee");
        assert_eq!(answered.disposition, Disposition::Answered);
        assert_eq!(answered.billed_seconds, 115);
        assert_eq!(answered.hangup_cause, Some(16));
        assert_eq!(
            (answered.caller.as_str(), answered.callee.as_str()),
            ("800123123", "34650881188")
        );
        assert_eq!(answered.fields.get("accountcode"), Some("acc9"));
        let busy = out[1].as_ref().unwrap();
        assert_eq!(busy.disposition, Disposition::Busy);
        assert_eq!(busy.hangup_cause, Some(17));
        let cancelled = out[2].as_ref().unwrap();
        assert_eq!(cancelled.disposition, Disposition::Cancelled);
        assert_eq!(cancelled.hangup_cause, None, "487 is not a Q.850 cause");
        assert!(out[3]
            .as_ref()
            .unwrap_err()
            .message
            .contains("columns list 15"));
    }

    #[test]
    fn a_custom_template_is_read_by_its_names() {
        let options = ReadOptions {
            columns: Some(
                [
                    "uuid",
                    "start_stamp",
                    "answer_stamp",
                    "billsec",
                    "caller_id_number",
                    "destination_number",
                    "sip_gateway_name",
                    "hangup_cause_q850",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ),
            ..Default::default()
        };
        let out = read(
            "u1,2026-02-01 09:00:00,2026-02-01 09:00:03,42,+34911111111,0044207000000,gw1,16\n",
            &options,
        );
        let record = out[0].as_ref().unwrap();
        assert_eq!(record.fields.get("sip_gateway_name"), Some("gw1"));
        assert_eq!(record.billed_seconds, 42);
        assert_eq!(record.hangup_cause, Some(16));
        let without_uuid = ReadOptions {
            columns: Some(vec!["caller_id_number".into()]),
            ..Default::default()
        };
        let e = records(Format::FreeswitchCsv, &b""[..], &without_uuid)
            .err()
            .unwrap();
        assert!(
            e.message.contains("destination_number is missing"),
            "{}",
            e.message
        );
    }
}
