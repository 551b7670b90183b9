//! Cisco CUCM CDR files: CSV with two header rows, the column names then their types
//! (`INTEGER`, `VARCHAR(50)`, `UNIQUEIDENTIFIER`), read by name since the column set
//! grows with each CUCM release. Times are Unix seconds (UTC); `dateTimeConnect` is 0 for
//! a call never answered. Only end-of-call records (`cdrRecordType` 1) are calls.

use std::io::Read;
use std::net::IpAddr;

use super::{with_header, CsvReader};
use crate::sources::read::Row;
use crate::sources::{
    epoch, integer, non_empty, number_field, q850, required, seconds, Disposition, Fields, Outcome,
    ReadOptions, Record, RecordReader, Rejection, Start,
};

const NEEDED: &[&str] = &[
    "pkid",
    "dateTimeOrigination",
    "dateTimeConnect",
    "duration",
    "callingPartyNumber",
    "finalCalledPartyNumber",
];

pub fn reader<'a, R: Read + 'a>(input: R, options: &ReadOptions) -> Box<dyn RecordReader + 'a> {
    let mut by_header = with_header(NEEDED, record);
    let parse = move |row: Row| {
        // The second header row (types), and header rows of files joined into one.
        let is_types = row.cells.first().is_some_and(|c| c.trim() == "INTEGER");
        let is_names = row.line > 1
            && row
                .cells
                .first()
                .is_some_and(|c| c.trim() == "cdrRecordType");
        if is_types || is_names {
            return None;
        }
        by_header(row)
    };
    Box::new(CsvReader::new(input, options.growing, parse))
}

fn record(line: u64, fields: Fields) -> Outcome {
    let callid = fields.get("pkid").unwrap_or("").trim().to_string();
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    required(&fields, "pkid").map_err(reject)?;
    if let Some(kind) = non_empty(fields.get("cdrRecordType")) {
        if kind != "1" {
            return Err(reject(format!(
                "cdrRecordType {kind}: not an end-of-call record"
            )));
        }
    }
    let start = epoch(
        "dateTimeOrigination",
        required(&fields, "dateTimeOrigination").map_err(reject)?,
    )
    .map_err(reject)?;
    let connect = integer(
        "dateTimeConnect",
        fields.get("dateTimeConnect").unwrap_or(""),
    )
    .map_err(reject)?;
    // The cause of the side that hung up; the other side's is 0.
    let hangup_cause = ["origCause_value", "destCause_value"]
        .iter()
        .find_map(|name| fields.get(name).and_then(q850));
    let disposition = if connect != 0 {
        Disposition::Answered
    } else {
        Disposition::unanswered_from_cause(hangup_cause)
    };
    let source_ip = fields
        .get("origIpv4v6Addr")
        .map(str::trim)
        .filter(|a| a.parse::<IpAddr>().is_ok())
        .map(str::to_string);
    Ok(Record {
        line,
        billed_seconds: seconds("duration", fields.get("duration").unwrap_or(""))
            .map_err(reject)?,
        caller: number_field(&fields, "callingPartyNumber").map_err(reject)?,
        callee: number_field(&fields, "finalCalledPartyNumber").map_err(reject)?,
        carrier_hint: non_empty(fields.get("destDeviceName")),
        callid: callid.clone(),
        start: Start::Utc(start),
        disposition,
        hangup_cause,
        direction_hint: None,
        b_leg: false,
        source_ip,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format};

    // The shape of a real CUCM file (a subset of its 129 columns, in its order): the names
    // row, the types row, a call whose called number a spreadsheet turned into 9.12678E+11,
    // a call to voicemail with an empty calling number, an unanswered call.
    const FILE: &str = concat!(
        "cdrRecordType,globalCallID_callId,dateTimeOrigination,callingPartyNumber,origCause_value,originalCalledPartyNumber,finalCalledPartyNumber,destCause_value,dateTimeConnect,dateTimeDisconnect,pkid,duration,origDeviceName,destDeviceName,origIpv4v6Addr,finalCalledPartyPattern\r\n",
        "INTEGER,INTEGER,INTEGER,VARCHAR(50),INTEGER,VARCHAR(50),VARCHAR(50),INTEGER,INTEGER,INTEGER,UNIQUEIDENTIFIER,INTEGER,VARCHAR(129),VARCHAR(129),VARCHAR(64),VARCHAR(50)\r\n",
        "1,872185,1452774590,3365585309,16,3091,9.12678E+11,393216,1452774642,1452774657,a7db1ffb-3463-4853-abcd-f8d4702ad820,15,172.16.11.1,172.16.11.1,172.16.11.1,9.@\r\n",
        "1,872186,1452774652,,0,1300,7990,16,1452774652,1452774662,d9f70675-cd21-4f05-a400-83b4d999914c,10,10.205.28.1,CALUNITY02,10.205.28.1,7990\r\n",
        "1,872187,1452774700,3091,16,5551234,5551234,0,0,1452774710,0c6a1d9e-0000-4000-8000-000000000003,0,SEP001122,SIPTrunk1,10.1.1.1,\r\n",
    );

    #[test]
    fn two_header_rows_then_records_by_name() {
        let out: Vec<Outcome> = records(Format::CucmCdr, FILE.as_bytes(), &ReadOptions::default())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(out.len(), 3, "the types row is not a record");
        let mangled = out[0].as_ref().unwrap_err();
        assert_eq!(mangled.line, 3);
        assert_eq!(
            mangled.callid.as_deref(),
            Some("a7db1ffb-3463-4853-abcd-f8d4702ad820")
        );
        assert!(
            mangled
                .message
                .starts_with("finalCalledPartyNumber: \"9.12678E+11\""),
            "{}",
            mangled.message
        );
        let voicemail = out[1].as_ref().unwrap();
        assert_eq!(voicemail.caller, "");
        assert_eq!(voicemail.callee, "7990");
        assert_eq!(voicemail.billed_seconds, 10);
        assert_eq!(voicemail.disposition, Disposition::Answered);
        assert_eq!(voicemail.hangup_cause, Some(16));
        assert_eq!(voicemail.carrier_hint.as_deref(), Some("CALUNITY02"));
        assert_eq!(voicemail.source_ip.as_deref(), Some("10.205.28.1"));
        assert_eq!(
            voicemail.start,
            Start::Utc(chrono::DateTime::from_timestamp(1452774652, 0).unwrap())
        );
        let unanswered = out[2].as_ref().unwrap();
        assert_eq!(
            unanswered.disposition,
            Disposition::Cancelled,
            "the caller hung up (16) before an answer"
        );
        assert_eq!(unanswered.fields.get("finalCalledPartyPattern"), Some(""));
    }
}
