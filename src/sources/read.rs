//! The byte level every format shares: gzip detection, CSV rows and top-level JSON objects
//! read one at a time, each with the byte offset just after it, so memory stays flat and a
//! growing file's unfinished last record is left for the next read.

use std::io::{self, BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use crate::error::{AppError, AppResult};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Largest JSON object read: a FreeSWITCH document is a few tens of KiB, a Webex page of 500
/// records about a MiB. Larger is not a record; it is skipped, not held in memory.
const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;

/// The input, decompressed when it starts with gzip's magic bytes (`1f 8b`), as is
/// otherwise. Offsets of the records are then offsets in the decompressed stream.
pub fn maybe_gunzip<'a, R: Read + 'a>(input: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    })
}

fn unreadable(offset: u64, e: impl std::fmt::Display) -> AppError {
    AppError::bad_request(format!(
        "the input could not be read after byte {offset}: {e}"
    ))
}

/// Counts what the CSV parser reads, remembers whether the input ended and on which byte,
/// and hides a leading UTF-8 byte order mark (counted, so offsets stay file offsets).
struct Tracked<R> {
    inner: R,
    total: u64,
    bom: u64,
    started: bool,
    /// The first bytes, read to look for a byte order mark, not yet handed on.
    head: Vec<u8>,
    ended: bool,
    last_byte: Option<u8>,
}

impl<R: Read> Tracked<R> {
    fn new(inner: R) -> Tracked<R> {
        Tracked {
            inner,
            total: 0,
            bom: 0,
            started: false,
            head: Vec::new(),
            ended: false,
            last_byte: None,
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.started = true;
            let mut head = [0u8; 3];
            let mut got = 0;
            while got < 3 {
                match self.inner.read(&mut head[got..])? {
                    0 => break,
                    n => got += n,
                }
            }
            self.total = got as u64;
            self.last_byte = head[..got].last().copied();
            self.bom = if head[..got] == *BOM { 3 } else { 0 };
            self.head = head[self.bom as usize..got].to_vec();
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.ended = true;
        } else {
            self.total += n as u64;
            self.last_byte = Some(buf[n - 1]);
        }
        Ok(n)
    }
}

/// One CSV row: the line it starts on and its cells (invalid UTF-8 replaced).
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// CSV rows, any number of cells each, quotes doubled inside quoted cells, CRLF or LF.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<Tracked<R>>,
    record: csv::ByteRecord,
    offset: u64,
    growing: bool,
}

impl<R: Read> CsvRows<R> {
    pub fn new(input: R, growing: bool) -> CsvRows<R> {
        CsvRows {
            // Only `\n` ends a row, so that a row's end (and the offset and line count)
            // includes the whole `\r\n`; the `\r` left on the last cell is removed below.
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_reader(Tracked::new(input)),
            record: csv::ByteRecord::new(),
            offset: 0,
            growing,
        }
    }

    /// Bytes up to the end of the last complete row returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn next_row(&mut self) -> AppResult<Option<Row>> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| unreadable(self.offset, e))?;
        if !more {
            return Ok(None);
        }
        let tracked = self.reader.get_ref();
        let end = self.reader.position().byte() + tracked.bom;
        // The row runs to the end of the input without a line end: a switch may still be
        // writing it. Leave it (and the offset) for the next read.
        let unfinished = tracked.ended && end == tracked.total && tracked.last_byte != Some(b'\n');
        if unfinished && self.growing {
            return Ok(None);
        }
        self.offset = end;
        let line = self.record.position().map_or(0, |p| p.line());
        let mut cells: Vec<String> = self
            .record
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        if let Some(last) = cells.last_mut() {
            if last.ends_with('\r') {
                last.pop();
            }
        }
        Ok(Some(Row { line, cells }))
    }
}

/// What [`JsonObjects`] finds at the top level of the input.
pub enum Chunk {
    /// The bytes of one complete `{…}` object (its number counts from 1).
    Object { number: u64, bytes: Vec<u8> },
    /// Something that is not an object, or an object too large or cut short.
    Broken { number: u64, message: String },
}

/// Top-level JSON objects, one after another: one per file, one per line, concatenated,
/// or the elements of a top-level array. Each object is cut out by counting braces outside
/// strings and parsed on its own, so a broken one is one bad record, not the end.
pub struct JsonObjects<R: Read> {
    input: BufReader<R>,
    /// Bytes consumed so far, and up to the end of the last complete object.
    position: u64,
    offset: u64,
    number: u64,
    growing: bool,
}

impl<R: Read> JsonObjects<R> {
    pub fn new(input: R, growing: bool) -> JsonObjects<R> {
        JsonObjects {
            input: BufReader::with_capacity(64 * 1024, input),
            position: 0,
            offset: 0,
            number: 0,
            growing,
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next byte, consumed; `None` at the end of the input.
    fn next_byte(&mut self) -> AppResult<Option<u8>> {
        let buf = self
            .input
            .fill_buf()
            .map_err(|e| unreadable(self.offset, e))?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        self.position += 1;
        Ok(Some(b))
    }

    /// The next byte without consuming it.
    fn peek_byte(&mut self) -> AppResult<Option<u8>> {
        let buf = self
            .input
            .fill_buf()
            .map_err(|e| unreadable(self.offset, e))?;
        Ok(buf.first().copied())
    }

    pub fn next_chunk(&mut self) -> AppResult<Option<Chunk>> {
        // Between objects: white space, a byte order mark, and the `[` `,` `]` of an array.
        loop {
            match self.peek_byte()? {
                None => return Ok(None),
                Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']') => {
                    self.next_byte()?;
                }
                Some(0xEF | 0xBB | 0xBF) if self.position < 3 => {
                    self.next_byte()?;
                }
                Some(b'{') => break,
                Some(_) => return self.skip_line(),
            }
        }
        self.number += 1;
        let number = self.number;
        let mut bytes = Vec::new();
        let mut too_large = false;
        // The closers still expected, innermost last; a wrong closer ends the object as
        // broken so the next one is read on its own.
        let mut open: Vec<u8> = Vec::new();
        let (mut in_string, mut escaped, mut mismatched) = (false, false, false);
        loop {
            let Some(b) = self.next_byte()? else {
                if self.growing {
                    // Still being written: read it again next time.
                    self.number -= 1;
                    return Ok(None);
                }
                self.offset = self.position;
                return Ok(Some(Chunk::Broken {
                    number,
                    message: "the input ends inside this JSON object".into(),
                }));
            };
            if !too_large {
                if bytes.len() < MAX_OBJECT_BYTES {
                    bytes.push(b);
                } else {
                    too_large = true;
                    bytes = Vec::new();
                }
            }
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' => open.push(b'}'),
                b'[' => open.push(b']'),
                b'}' | b']' => {
                    if open.pop() != Some(b) {
                        mismatched = true;
                        break;
                    }
                    if open.is_empty() {
                        break;
                    }
                }
                _ => {}
            }
        }
        self.offset = self.position;
        Ok(Some(if too_large {
            Chunk::Broken {
                number,
                message: format!("a JSON object larger than {MAX_OBJECT_BYTES} bytes"),
            }
        } else if mismatched {
            Chunk::Broken {
                number,
                message: format!(
                    "malformed JSON: unexpected {:?} at byte {}",
                    char::from(*bytes.last().unwrap_or(&b' ')),
                    self.position
                ),
            }
        } else {
            Chunk::Object { number, bytes }
        }))
    }

    /// Text that is not a JSON object: one bad record up to the end of its line.
    fn skip_line(&mut self) -> AppResult<Option<Chunk>> {
        let mut text = Vec::new();
        loop {
            match self.next_byte()? {
                Some(b'\n') => break,
                Some(b) => {
                    if text.len() < 40 {
                        text.push(b);
                    }
                }
                None if self.growing => return Ok(None),
                None => break,
            }
        }
        self.offset = self.position;
        self.number += 1;
        Ok(Some(Chunk::Broken {
            number: self.number,
            message: format!(
                "not a JSON object: {:?}",
                String::from_utf8_lossy(&text).trim()
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &[u8], growing: bool) -> (Vec<(u64, Vec<String>)>, u64) {
        let mut reader = CsvRows::new(input, growing);
        let mut out = vec![];
        while let Some(row) = reader.next_row().unwrap() {
            out.push((row.line, row.cells));
        }
        (out, reader.offset())
    }

    #[test]
    fn csv_rows_survive_quotes_newlines_crlf_and_a_bom() {
        let input =
            b"\xEF\xBB\xBF\"a\",\"say \"\"hi\"\", ok\",1\r\n\"multi\nline\",,2\r\nlast,x,3\r\n";
        let (out, offset) = rows(input, false);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].1, ["a", "say \"hi\", ok", "1"]);
        assert_eq!(out[1].1, ["multi\nline", "", "2"]);
        assert_eq!((out[0].0, out[1].0, out[2].0), (1, 2, 4));
        assert_eq!(out[2].1, ["last", "x", "3"]);
        assert_eq!(offset, input.len() as u64);
    }

    #[test]
    fn a_growing_files_unfinished_last_line_is_left_for_later() {
        let input = b"a,1\nb,2\nc,3";
        let (out, offset) = rows(input, true);
        assert_eq!(out.len(), 2);
        assert_eq!(offset, 8, "just after \"b,2\\n\"");
        // Resuming at the offset once the line is finished reads exactly the rest.
        let finished = b"a,1\nb,2\nc,3\n";
        let (rest, end) = rows(&finished[offset as usize..], true);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1, ["c", "3"]);
        assert_eq!(offset + end, finished.len() as u64);
        // A finished input (an upload) reads its last line without a newline.
        let (all, end) = rows(input, false);
        assert_eq!(all.len(), 3);
        assert_eq!(end, input.len() as u64);
        // An unfinished quoted cell with a newline in it is not a complete row either.
        let (out, offset) = rows(b"a,1\n\"open\nstill", true);
        assert_eq!((out.len(), offset), (1, 4));
    }

    #[test]
    fn json_objects_one_per_line_in_an_array_or_pretty_printed() {
        let input =
            b"{\"a\":\"}{\\\"\"}\n[{\"b\":{\"c\":[1,2]}},\n{\"d\":1}]\nnot json\n{\"e\":\n 2}\n";
        let mut objects = JsonObjects::new(&input[..], false);
        let mut seen = vec![];
        while let Some(chunk) = objects.next_chunk().unwrap() {
            seen.push(match chunk {
                Chunk::Object { number, bytes } => {
                    format!("{number}:{}", String::from_utf8(bytes).unwrap())
                }
                Chunk::Broken { number, message } => format!("{number}!{message}"),
            });
        }
        assert_eq!(
            seen,
            [
                "1:{\"a\":\"}{\\\"\"}",
                "2:{\"b\":{\"c\":[1,2]}}",
                "3:{\"d\":1}",
                "4!not a JSON object: \"not json\"",
                "5:{\"e\":\n 2}"
            ]
        );
    }

    #[test]
    fn a_growing_json_input_keeps_its_unfinished_object() {
        let input = b"{\"a\":1}\n{\"b\":";
        let mut objects = JsonObjects::new(&input[..], true);
        assert!(matches!(
            objects.next_chunk().unwrap(),
            Some(Chunk::Object { .. })
        ));
        assert!(objects.next_chunk().unwrap().is_none());
        assert_eq!(objects.offset(), 7);
        let mut finished = JsonObjects::new(&input[..], false);
        finished.next_chunk().unwrap();
        assert!(matches!(
            finished.next_chunk().unwrap(),
            Some(Chunk::Broken { number: 2, .. })
        ));
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"a,1\n").unwrap();
        let compressed = gz.finish().unwrap();
        let mut out = String::new();
        maybe_gunzip(&compressed[..])
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "a,1\n");
        let mut plain = String::new();
        maybe_gunzip(&b"a,1\n"[..])
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "a,1\n");
        let mut broken = String::new();
        assert!(maybe_gunzip(&compressed[..10])
            .unwrap()
            .read_to_string(&mut broken)
            .is_err());
    }
}
