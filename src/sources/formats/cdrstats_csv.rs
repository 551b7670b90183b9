//! CDR-Stats exports: CSV with its 25-column header (the columns of its `cdr_import`
//! table: `switch`, `cdr_source_type`, `callid`, `caller_id_number`, `caller_id_name`,
//! `destination_number`, `dialcode`, `state`, `channel`, `starting_date`, `duration`,
//! `billsec`, `progresssec`, `answersec`, `waitsec`, `hangup_cause_id`, `hangup_cause`,
//! `direction`, `country_code`, `accountcode`, `buy_rate`, `buy_cost`, `sell_rate`,
//! `sell_cost`, `extradata`), read by name. `starting_date` is local unless it has an offset.

use std::io::Read;

use super::{with_header, CsvReader};
use crate::sources::{
    non_empty, number_field, q850, required, seconds, start_time, Direction, Disposition, Fields,
    Outcome, ReadOptions, Record, RecordReader, Rejection,
};

const NEEDED: &[&str] = &[
    "callid",
    "caller_id_number",
    "destination_number",
    "starting_date",
    "billsec",
];

pub fn reader<'a, R: Read + 'a>(input: R, options: &ReadOptions) -> Box<dyn RecordReader + 'a> {
    Box::new(CsvReader::new(
        input,
        options.growing,
        with_header(NEEDED, record),
    ))
}

fn record(line: u64, fields: Fields) -> Outcome {
    let callid = fields.get("callid").unwrap_or("").trim().to_string();
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    required(&fields, "callid").map_err(reject)?;
    let start = start_time(
        "starting_date",
        required(&fields, "starting_date").map_err(reject)?,
    )
    .map_err(reject)?;
    let billed_seconds = seconds("billsec", fields.get("billsec").unwrap_or("")).map_err(reject)?;
    let hangup_cause = fields.get("hangup_cause_id").and_then(q850);
    let disposition = if billed_seconds > 0 {
        Disposition::Answered
    } else {
        Disposition::unanswered_from_cause(hangup_cause)
    };
    // CDR-Stats' CALL_DIRECTION: 1 inbound, 2 outbound.
    let direction_hint = match fields.get("direction").map(str::trim) {
        Some("1") => Some(Direction::Inbound),
        Some("2") => Some(Direction::Outbound),
        _ => None,
    };
    Ok(Record {
        line,
        caller: number_field(&fields, "caller_id_number").map_err(reject)?,
        callee: number_field(&fields, "destination_number").map_err(reject)?,
        carrier_hint: non_empty(fields.get("switch")),
        callid: callid.clone(),
        start,
        billed_seconds,
        disposition,
        hangup_cause,
        direction_hint,
        b_leg: false,
        source_ip: None,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format, Start};

    const HEADER: &str = "switch,cdr_source_type,callid,caller_id_number,caller_id_name,destination_number,dialcode,state,channel,starting_date,duration,billsec,progresssec,answersec,waitsec,hangup_cause_id,hangup_cause,direction,country_code,accountcode,buy_rate,buy_cost,sell_rate,sell_cost,extradata\n";

    fn read(input: &str) -> Vec<Outcome> {
        records(
            Format::CdrstatsCsv,
            input.as_bytes(),
            &ReadOptions::default(),
        )
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    #[test]
    fn rows_by_the_25_column_header() {
        let input = format!(
            "{HEADER}127.0.0.1,1,c-1,34650881188,Alice,34911222333,3491,,sofia/x,2015-01-14 17:58:01,120,115,0,5,5,16,NORMAL_CLEARING,2,ES,acc1,0.01,0.02,0.02,0.04,\"{{\"\"k\"\": 1}}\"\n\
             127.0.0.1,1,c-2,34650881188,Alice,34911222334,3491,,sofia/x,2015-01-14 17:59:01,20,0,0,0,20,17,USER_BUSY,1,ES,acc1,,,,,\n\
             127.0.0.1,1,c-3\n"
        );
        let out = read(&input);
        let answered = out[0].as_ref().unwrap();
        assert_eq!(answered.callid, "c-1");
        assert_eq!(answered.line, 2);
        assert_eq!(answered.billed_seconds, 115);
        assert_eq!(answered.disposition, Disposition::Answered);
        assert_eq!(answered.direction_hint, Some(Direction::Outbound));
        assert_eq!(answered.carrier_hint.as_deref(), Some("127.0.0.1"));
        assert_eq!(answered.fields.get("extradata"), Some("{\"k\": 1}"));
        assert!(matches!(answered.start, Start::Local(_)));
        let busy = out[1].as_ref().unwrap();
        assert_eq!(busy.disposition, Disposition::Busy);
        assert_eq!(busy.direction_hint, Some(Direction::Inbound));
        assert!(out[2]
            .as_ref()
            .unwrap_err()
            .message
            .contains("3 cells where the header has 25"));
    }

    #[test]
    fn a_file_without_the_header_is_rejected_row_by_row() {
        let out = read("\"\",\"100\",\"200\"\n\"\",\"101\",\"201\"\n");
        assert_eq!(out.len(), 2);
        for rejected in &out {
            let message = &rejected.as_ref().unwrap_err().message;
            assert!(message.contains("the header row lacks callid"), "{message}");
        }
    }
}
