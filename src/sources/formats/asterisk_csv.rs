//! Asterisk's `Master.csv` (`cdr_csv`): one line per call, no header. The columns depend
//! on the PBX's settings, so unless the source names them they are told from each line's
//! count: 16 (the default), 17 (+`uniqueid`), 18 (+`userfield`), 21 (+`peeraccount`,
//! `linkedid`, `sequence`). Times are local, without an offset.

use std::io::Read;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use sha2::{Digest, Sha256};

use super::CsvReader;
use crate::error::{AppError, AppResult};
use crate::sources::read::Row;
use crate::sources::{
    number_field, required, seconds, start_time, Disposition, Fields, Outcome, ReadOptions, Record,
    RecordReader, Rejection,
};

/// `cdr_csv.c`'s columns in the order it writes them.
const COLUMNS: [&str; 21] = [
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
];

/// The columns a record cannot do without.
const NEEDED: [&str; 7] = [
    "src",
    "dst",
    "channel",
    "dstchannel",
    "start",
    "billsec",
    "disposition",
];

/// The trunk of an outbound leg: `SIP/carrier1-0000002a` → `carrier1`.
static TRUNK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:SIP|PJSIP|IAX2)/([^-/]+)").expect("valid regex"));

pub fn reader<'a, R: Read + 'a>(
    input: R,
    options: &ReadOptions,
) -> AppResult<Box<dyn RecordReader + 'a>> {
    let explicit = match &options.columns {
        Some(columns) => Some(explicit_columns(columns)?),
        None => None,
    };
    // The detected layouts, each shared by every line of its width.
    let layouts: Vec<Arc<[String]>> = [16, 17, 18, 21]
        .into_iter()
        .map(|n| COLUMNS[..n].iter().map(|c| c.to_string()).collect())
        .collect();
    let parse = move |row: Row| {
        let names = match &explicit {
            Some(names) if names.len() == row.cells.len() => names.clone(),
            Some(names) => {
                return Some(Err(Rejection::new(
                    row.line,
                    None,
                    format!(
                        "{} columns where the source's columns list {}",
                        row.cells.len(),
                        names.len()
                    ),
                )))
            }
            None => match layouts.iter().find(|l| l.len() == row.cells.len()) {
                Some(names) => names.clone(),
                None => {
                    return Some(Err(Rejection::new(
                        row.line,
                        None,
                        format!(
                            "{} columns: Asterisk writes 16, 17, 18 or 21 (set the source's columns for another layout)",
                            row.cells.len()
                        ),
                    )))
                }
            },
        };
        Some(record(row.line, Fields::new(names, row.cells)))
    };
    Ok(Box::new(CsvReader::new(input, options.growing, parse)))
}

fn explicit_columns(columns: &[String]) -> AppResult<Arc<[String]>> {
    for needed in NEEDED {
        if !columns.iter().any(|c| c == needed) {
            return Err(AppError::invalid_field(
                "columns",
                format!("{needed} is missing (needed: {})", NEEDED.join(", ")),
            ));
        }
    }
    Ok(columns.iter().map(|c| c.trim().to_string()).collect())
}

/// One line's record.
fn record(line: u64, fields: Fields) -> Outcome {
    let callid = callid(&fields);
    let reject = |message: String| Rejection::new(line, Some(&callid), message);
    let start = start_time("start", required(&fields, "start").map_err(reject)?).map_err(reject)?;
    let disposition = match required(&fields, "disposition").map_err(reject)? {
        "ANSWERED" => Disposition::Answered,
        "BUSY" => Disposition::Busy,
        "NO ANSWER" => Disposition::NoAnswer,
        "FAILED" => Disposition::Failed,
        "CONGESTION" => Disposition::Congestion,
        other => return Err(reject(format!("disposition: unknown value {other:?}"))),
    };
    let billed_seconds = seconds("billsec", fields.get("billsec").unwrap_or("")).map_err(reject)?;
    let caller = number_field(&fields, "src").map_err(reject)?;
    let callee = number_field(&fields, "dst").map_err(reject)?;
    let carrier_hint = fields
        .get("dstchannel")
        .and_then(|c| TRUNK.captures(c))
        .map(|c| c[1].to_string());
    Ok(Record {
        line,
        callid,
        start,
        caller,
        callee,
        billed_seconds,
        disposition,
        hangup_cause: None,
        carrier_hint,
        direction_hint: None,
        b_leg: false,
        source_ip: None,
        fields,
    })
}

/// `uniqueid` when the line has one; otherwise a hash of what tells two calls apart, the
/// same for the same line whenever it is read again (re-uploads are duplicates).
fn callid(fields: &Fields) -> String {
    if let Some(id) = fields
        .get("uniqueid")
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        return id.to_string();
    }
    let mut hash = Sha256::new();
    for name in ["start", "src", "dst", "channel", "dstchannel"] {
        hash.update(fields.get(name).unwrap_or("").as_bytes());
        hash.update([0x1f]);
    }
    format!("ast-{}", &hex::encode(hash.finalize())[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{records, Format, Start};

    fn read(input: &str, options: &ReadOptions) -> Vec<Outcome> {
        records(Format::AsteriskCsv, input.as_bytes(), options)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    // Lines of the shape a real 18-column Master.csv has: a BUSY line with the answer time
    // bare and empty, a quoted caller name with doubled quotes, a backslash in lastdata.
    const EIGHTEEN: &str = concat!(
        "\"\",\"8001\",\"8002\",\"sip0\",\"\"\"8001\"\" <8001>\",\"TELCHAN/5/22\",\"SIP/sip0-00000013\",\"Dial\",\"SIP/8002@sip0,,gT\",\"2020-08-27 11:02:40\",,\"2020-08-27 11:02:40\",0,0,\"BUSY\",\"DOCUMENTATION\",\"1598518960.99\",\"\"\n",
        "\"acc1\",\"7001\",\"0034912345678\",\"call_line\",\"\"\"\"\" <7001>\",\"SIP/sip0-00000015\",\"PJSIP/carrier-1-00000016\",\"Dial\",\"TELCHAN\\/5,,tF(hangup,h,2)\",\"2020-08-27 11:09:40\",\"2020-08-27 11:09:45\",\"2020-08-27 11:20:40\",660,654,\"ANSWERED\",\"DOCUMENTATION\",\"1598519380.114\",\"\"\n",
    );

    #[test]
    fn eighteen_columns_as_a_real_pbx_writes_them() {
        let out = read(EIGHTEEN, &ReadOptions::default());
        let busy = out[0].as_ref().unwrap();
        assert_eq!(busy.callid, "1598518960.99");
        assert_eq!(busy.disposition, Disposition::Busy);
        assert_eq!(busy.fields.get("answer"), Some(""));
        assert_eq!(busy.fields.get("clid"), Some("\"8001\" <8001>"));
        assert_eq!(busy.carrier_hint.as_deref(), Some("sip0"));
        let answered = out[1].as_ref().unwrap();
        assert_eq!(answered.callid, "1598519380.114");
        assert_eq!(answered.disposition, Disposition::Answered);
        assert_eq!(answered.billed_seconds, 654);
        assert_eq!(answered.caller, "7001");
        assert_eq!(answered.callee, "0034912345678");
        assert_eq!(
            answered.start,
            Start::Local(
                chrono::NaiveDateTime::parse_from_str("2020-08-27 11:09:40", "%Y-%m-%d %H:%M:%S")
                    .unwrap()
            )
        );
        assert_eq!(
            answered.fields.get("lastdata"),
            Some("TELCHAN\\/5,,tF(hangup,h,2)")
        );
        assert_eq!(answered.fields.get("accountcode"), Some("acc1"));
        assert_eq!(
            answered.carrier_hint.as_deref(),
            Some("carrier"),
            "up to the first -"
        );
        assert_eq!(answered.line, 2);
    }

    #[test]
    fn the_layout_is_told_per_line_from_its_column_count() {
        let base = "\"\",\"100\",\"200\",\"ctx\",\"x\",\"SIP/a-1\",\"IAX2/trunk/5\",\"Dial\",\"d\",\"2026-01-05 10:00:00\",\"2026-01-05 10:00:05\",\"2026-01-05 10:01:05\",65,60,\"ANSWERED\",\"DOCUMENTATION\"";
        let input = format!(
            "{base}\n{base},\"u17\"\n{base},\"u18\",\"uf\"\n{base},\"u21\",\"uf\",\"peer\",\"link\",7\n{base},\"a\",\"b\",\"c\"\n"
        );
        let out = read(&input, &ReadOptions::default());
        assert_eq!(out.len(), 5);
        let sixteen = out[0].as_ref().unwrap();
        assert!(sixteen.callid.starts_with("ast-"), "{}", sixteen.callid);
        assert_eq!(sixteen.carrier_hint.as_deref(), Some("trunk"));
        assert_eq!(out[1].as_ref().unwrap().callid, "u17");
        assert_eq!(out[2].as_ref().unwrap().fields.get("userfield"), Some("uf"));
        let wide = out[3].as_ref().unwrap();
        assert_eq!(wide.callid, "u21");
        assert_eq!(wide.fields.get("linkedid"), Some("link"));
        let odd = out[4].as_ref().unwrap_err();
        assert!(odd.message.starts_with("19 columns"), "{}", odd.message);
        assert_eq!(odd.line, 5);
        // The hash is stable: the same line read again gives the same callid.
        let again = read(&format!("{base}\n"), &ReadOptions::default());
        assert_eq!(again[0].as_ref().unwrap().callid, sixteen.callid);
    }

    #[test]
    fn the_sources_columns_override_detection() {
        let columns: Vec<String> = [
            "start",
            "src",
            "dst",
            "channel",
            "dstchannel",
            "billsec",
            "disposition",
            "uniqueid",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let options = ReadOptions {
            columns: Some(columns),
            ..Default::default()
        };
        let out = read(
            "2026-01-05 10:00:00,100,200,SIP/a-1,SIP/b-2,30,ANSWERED,id1\n1,2\n",
            &options,
        );
        assert_eq!(out[0].as_ref().unwrap().callid, "id1");
        assert!(out[1]
            .as_ref()
            .unwrap_err()
            .message
            .contains("columns list 8"));
        let missing = ReadOptions {
            columns: Some(vec!["src".into()]),
            ..Default::default()
        };
        assert!(records(Format::AsteriskCsv, &b""[..], &missing).is_err());
    }

    #[test]
    fn crlf_bom_quoted_newlines_and_spreadsheet_numbers() {
        let line = |dst: &str, clid: &str| {
            format!("\"\",\"100\",\"{dst}\",\"ctx\",\"{clid}\",\"SIP/a-1\",\"SIP/b-2\",\"Dial\",\"d, e\",\"2026-01-05 10:00:00\",\"2026-01-05 10:00:05\",\"2026-01-05 10:01:05\",65,60,\"ANSWERED\",\"DOCUMENTATION\",\"id-{dst}\"\r\n")
        };
        let input = format!(
            "\u{feff}{}{}{}",
            line("200", "two\nlines"),
            line("9.12678E+11", "x"),
            line("300", "\"\"quoted\"\", with comma")
        );
        let out = read(&input, &ReadOptions::default());
        assert_eq!(out.len(), 3);
        let first = out[0].as_ref().unwrap();
        assert_eq!(
            first.fields.get("accountcode"),
            Some(""),
            "the BOM is not in the first cell"
        );
        assert_eq!(first.fields.get("clid"), Some("two\nlines"));
        assert_eq!(first.fields.get("lastdata"), Some("d, e"));
        let mangled = out[1].as_ref().unwrap_err();
        assert_eq!(
            mangled.line, 3,
            "the first line after the quoted newline is line 3"
        );
        assert_eq!(mangled.callid.as_deref(), Some("id-9.12678E+11"));
        assert!(
            mangled.message.contains("scientific notation"),
            "{}",
            mangled.message
        );
        assert_eq!(
            out[2].as_ref().unwrap().fields.get("clid"),
            Some("\"quoted\", with comma")
        );
        assert_eq!(out[2].as_ref().unwrap().callee, "300");
    }

    #[test]
    fn a_spool_files_unfinished_line_is_not_consumed() {
        let full = "\"\",\"100\",\"200\",\"ctx\",\"x\",\"SIP/a-1\",\"SIP/b-2\",\"Dial\",\"d\",\"2026-01-05 10:00:00\",\"2026-01-05 10:00:05\",\"2026-01-05 10:01:05\",65,60,\"ANSWERED\",\"DOCUMENTATION\",\"one\"\n";
        let partial = "\"\",\"100\",\"201\",\"ctx\",\"x\",\"SIP/a-1\",\"SIP/b-2\",\"Dial\",\"d\",\"2026-01-05 10:00:00\",\"2026-01-05 10:00:05\",\"2026-01-05 10:01:05\",65,60,\"ANSWERED\",\"DOCUMENTATION\",\"tw";
        let input = format!("{full}{partial}");
        let options = ReadOptions {
            growing: true,
            ..Default::default()
        };
        let mut reader = records(Format::AsteriskCsv, input.as_bytes(), &options).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().unwrap().callid, "one");
        assert!(reader.next().is_none());
        assert_eq!(reader.offset(), full.len() as u64);
    }
}
