//! Amazon Chime SDK Voice Connector CDRs: one JSON object per S3 object (or per line when
//! several are joined). The billed time is `BillableDurationSeconds`, never end − start.
//! Numbers are E.164; the carrier is the source's default carrier.

use std::io::Read;

use super::{json_fields, json_object, JsonReader};
use crate::sources::{
    epoch, number_field, required, seconds, Direction, Disposition, Fields, Outcome, ReadOptions,
    Record, RecordReader, Rejection, Start,
};

pub fn reader<'a, R: Read + 'a>(input: R, options: &ReadOptions) -> Box<dyn RecordReader + 'a> {
    let parse = |number: u64, bytes: &[u8]| {
        vec![json_object(bytes)
            .map_err(|message| Rejection::new(number, None, message))
            .and_then(|object| record(number, json_fields(&object)))]
    };
    Box::new(JsonReader::new(input, options.growing, parse))
}

fn record(line: u64, fields: Fields) -> Outcome {
    let callid = fields.get("TransactionId").unwrap_or("").trim().to_string();
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    required(&fields, "TransactionId").map_err(reject)?;
    let billed_seconds = seconds(
        "BillableDurationSeconds",
        fields.get("BillableDurationSeconds").unwrap_or(""),
    )
    .map_err(reject)?;
    let start = epoch(
        "StartTimeEpochSeconds",
        required(&fields, "StartTimeEpochSeconds").map_err(reject)?,
    )
    .map_err(reject)?;
    let disposition = match (billed_seconds > 0, fields.get("Status")) {
        (true, _) => Disposition::Answered,
        (false, Some("Failed")) => Disposition::Failed,
        (false, _) => Disposition::NoAnswer,
    };
    let direction_hint = match fields.get("Direction").map(str::trim) {
        Some("Outbound") => Some(Direction::Outbound),
        Some("Inbound") => Some(Direction::Inbound),
        _ => None,
    };
    Ok(Record {
        line,
        caller: number_field(&fields, "SourcePhoneNumber").map_err(reject)?,
        callee: number_field(&fields, "DestinationPhoneNumber").map_err(reject)?,
        callid: callid.clone(),
        start: Start::Utc(start),
        billed_seconds,
        disposition,
        hangup_cause: None,
        carrier_hint: None,
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
        records(Format::ChimeJson, input.as_bytes(), &ReadOptions::default())
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn one_object_per_file_pretty_printed() {
        let file = r#"{
            "AwsAccountId": "111122223333",
            "TransactionId": "t-1",
            "CallId": "c-1",
            "VoiceConnectorId": "abcdef1ghij2klmno3pqr4",
            "Status": "Completed",
            "BillableDurationSeconds": 6,
            "BillableDurationMinutes": 0.1,
            "SchemaVersion": "2.0",
            "SourcePhoneNumber": "+15105550101",
            "DestinationPhoneNumber": "+16285550122",
            "UsageType": "USE1-US-outbound-minutes",
            "ServiceCode": "AmazonChimeVoiceConnector",
            "Direction": "Outbound",
            "StartTimeEpochSeconds": 1565399625,
            "EndTimeEpochSeconds": 1565399700,
            "Region": "us-east-1"
        }"#;
        let out = read(file);
        let record = out[0].as_ref().unwrap();
        assert_eq!(record.callid, "t-1");
        assert_eq!(
            record.billed_seconds, 6,
            "BillableDurationSeconds, not end - start (75)"
        );
        assert_eq!(record.direction_hint, Some(Direction::Outbound));
        assert_eq!(record.caller, "+15105550101");
        assert_eq!(record.fields.get("Region"), Some("us-east-1"));
    }

    #[test]
    fn one_object_per_line_with_strings_for_numbers() {
        let lines = concat!(
            "{\"TransactionId\":\"t-2\",\"Status\":\"Completed\",\"BillableDurationSeconds\":\"12\",\"SourcePhoneNumber\":\"12075550155\",\"DestinationPhoneNumber\":\"13605551214\",\"Direction\":\"Inbound\",\"StartTimeEpochSeconds\":\"1565399625\"}\n",
            "{\"TransactionId\":\"t-3\",\"Status\":\"Failed\",\"BillableDurationSeconds\":0,\"SourcePhoneNumber\":\"+1\",\"DestinationPhoneNumber\":\"+2\",\"StartTimeEpochSeconds\":1565399625}\n",
            "{\"Status\":\"Completed\"}\n",
        );
        let out = read(lines);
        let inbound = out[0].as_ref().unwrap();
        assert_eq!(inbound.billed_seconds, 12);
        assert_eq!(inbound.direction_hint, Some(Direction::Inbound));
        assert_eq!(out[1].as_ref().unwrap().disposition, Disposition::Failed);
        let rejected = out[2].as_ref().unwrap_err();
        assert_eq!(rejected.line, 3);
        assert_eq!(rejected.message, "TransactionId: missing");
    }
}
