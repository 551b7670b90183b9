//! The spool directory: a switch on the same host writes CDR files into a directory the
//! runner scans. Each matching file is read from its checkpoint (the byte after the last
//! complete record) and the checkpoint is committed in the transaction of the batch of
//! calls it covers, so a crash between batches neither loses nor doubles a record.
//!
//! A file is known by device and inode (a rotation is a rename: it keeps its checkpoint)
//! and recognised as the same file by the hash of its first min(4 KiB, checkpoint) bytes; a
//! file shorter than its checkpoint or with other first bytes (truncated, replaced) is read
//! again from the start, the records already stored then being duplicates. One runner at a
//! time reads a source: it holds the source's lease, renewed with every batch.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};

use crate::db::cdr_imports::{self, Counts};
use crate::db::cdr_spool_files::{self, Checkpoint};
use crate::db::{self, DbConnection};
use crate::error::{AppError, AppResult};
use crate::fault;
use crate::sources::import::{add_counts, Batch, Loaded, Origin, BATCH};
use crate::sources::{self, Format, ReadOptions};

/// The part of a file's start that identifies it, at most.
const HEAD_BYTES: u64 = 4096;

/// A source's spool as the runner reads it.
pub struct Spool<'a> {
    pub loaded: &'a Loaded,
    /// The canonical directory and the file name pattern.
    pub directory: PathBuf,
    pub pattern: String,
    /// The runner holding the lease, and for how long a lease runs.
    pub owner: &'a str,
    pub lease: Duration,
}

/// What one scan of a source's spool did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The imports created (one per file that had new records).
    pub imports: Vec<String>,
    pub counts: Counts,
    /// Another runner holds the source's lease: nothing was read.
    pub busy: bool,
}

/// A file of the directory to read.
struct Candidate {
    path: PathBuf,
    name: String,
    modified: std::time::SystemTime,
}

impl Spool<'_> {
    fn source_id(&self) -> &str {
        &self.loaded.settings.id
    }

    fn lease_until(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + self.lease
    }

    /// Reads what every matching file holds beyond its checkpoint, oldest file first,
    /// unless another runner holds the source. An unreadable directory or file is an error
    /// (the runner shows it on the source); what was stored before it stays stored.
    pub fn scan(
        &self,
        conn: &mut DbConnection,
        matches: impl Fn(&str, &str) -> bool,
    ) -> AppResult<Scanned> {
        let now = db::now();
        if !cdr_spool_files::take_lease(
            conn,
            self.source_id(),
            self.owner,
            now,
            self.lease_until(now),
        )? {
            return Ok(Scanned {
                busy: true,
                ..Scanned::default()
            });
        }
        let scanned = self.scan_held(conn, matches);
        let released = cdr_spool_files::release_lease(conn, self.source_id(), self.owner);
        let scanned = scanned?;
        released?;
        Ok(scanned)
    }

    fn scan_held(
        &self,
        conn: &mut DbConnection,
        matches: impl Fn(&str, &str) -> bool,
    ) -> AppResult<Scanned> {
        let files = self.candidates(matches)?;
        let checkpoints = cdr_spool_files::of_source(conn, self.source_id())?;
        let mut seen = vec![];
        let mut scanned = Scanned::default();
        for candidate in &files {
            let file = match File::open(&candidate.path) {
                Ok(file) => file,
                // Rotated away between the listing and now: the next scan finds it.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unreadable(&candidate.path, e)),
            };
            let meta = file
                .metadata()
                .map_err(|e| unreadable(&candidate.path, e))?;
            let key = format!("{}:{}", meta.dev(), meta.ino());
            seen.push(key.clone());
            let known = checkpoints.iter().find(|c| c.file_key == key);
            let start = match known {
                Some(c) if self.same_file(&file, &meta, c)? => c.byte_offset as u64,
                _ => 0,
            };
            if start >= meta.len() {
                continue;
            }
            let read = self.read_file(conn, candidate, file, &key, start)?;
            if let Some((import, counts)) = read {
                scanned.imports.push(import);
                add_counts(&mut scanned.counts, &counts);
            }
        }
        cdr_spool_files::forget_others(conn, self.source_id(), &seen)?;
        Ok(scanned)
    }

    /// The directory's regular files matching the pattern, oldest first (by modification
    /// time, then name): a rotated file is finished before its successor.
    fn candidates(&self, matches: impl Fn(&str, &str) -> bool) -> AppResult<Vec<Candidate>> {
        let entries =
            std::fs::read_dir(&self.directory).map_err(|e| unreadable(&self.directory, e))?;
        let mut files = vec![];
        for entry in entries {
            let entry = entry.map_err(|e| unreadable(&self.directory, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !matches(&self.pattern, &name) {
                continue;
            }
            // Not followed: a symlink could lead out of CALLCSV_SPOOL_ROOT.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            files.push(Candidate {
                path: entry.path(),
                name,
                modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            });
        }
        files.sort_by(|a, b| (a.modified, &a.name).cmp(&(b.modified, &b.name)));
        Ok(files)
    }

    /// Whether `file` is still the file `checkpoint` was taken of: at least as long, and
    /// with the same first bytes.
    fn same_file(
        &self,
        file: &File,
        meta: &std::fs::Metadata,
        checkpoint: &Checkpoint,
    ) -> AppResult<bool> {
        if meta.len() < checkpoint.byte_offset as u64 {
            return Ok(false);
        }
        let (_, hash) = head_hash(file, checkpoint.head_len as u64)?;
        Ok(hash == checkpoint.head_sha256)
    }

    /// Imports the records of `file` after `start`, a batch per transaction with the
    /// checkpoint it reaches. Returns the import and its counts when there were records.
    ///
    /// A gzip-compressed file (a rotated file logrotate compressed) is read whole, once it
    /// is complete: its batches keep the checkpoint at 0 (a crash reads it again, its
    /// records then duplicates) and its end is checkpointed when the last one is stored.
    fn read_file(
        &self,
        conn: &mut DbConnection,
        candidate: &Candidate,
        mut file: File,
        key: &str,
        start: u64,
    ) -> AppResult<Option<(String, Counts)>> {
        let settings = &self.loaded.settings;
        let compressed = is_gzip(&file).map_err(|e| unreadable(&candidate.path, e))?;
        if compressed && !gzip_complete(&file) {
            // Still being written: a later scan reads it.
            return Ok(None);
        }
        let start = if compressed { 0 } else { start };
        // A resumed file of a format with header rows gets its header again, in front.
        let header = if start > 0 {
            header_of(&file, settings.format)?
        } else {
            vec![]
        };
        let (header, start) = if header.len() as u64 > start {
            (vec![], 0)
        } else {
            (header, start)
        };
        let skipped = header.len() as u64;
        // Records carry their line in the file, also when reading resumes mid-file (after
        // the header read again in front).
        let header_lines = newlines(&header);
        let lines_before = if start > 0 {
            lines_up_to(&file, start).map_err(|e| unreadable(&candidate.path, e))?
        } else {
            0
        };
        let in_file_line = |line: u64| line.saturating_sub(header_lines) + lines_before;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| unreadable(&candidate.path, e))?;
        let input: Box<dyn Read + '_> = if compressed {
            Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(&file)))
        } else {
            Box::new(Cursor::new(header).chain(&file))
        };
        let options = ReadOptions {
            growing: !compressed,
            ..settings.read.clone()
        };
        // The file offset of the parser's offset in `input` (a compressed file has none
        // before its end).
        let in_file = |offset: u64| {
            if compressed {
                0
            } else {
                start + offset.saturating_sub(skipped)
            }
        };

        let mut reader = sources::records(settings.format, input, &options)?;
        let mut batch = Batch::default();
        let mut import: Option<String> = None;
        let mut counts = Counts::default();
        let mut committed = start;
        let mut failure = None;
        loop {
            let end = match reader.next() {
                None => true,
                Some(Ok(mut outcome)) => {
                    match &mut outcome {
                        Ok(record) => record.line = in_file_line(record.line),
                        Err(rejection) => rejection.line = in_file_line(rejection.line),
                    }
                    batch.take(self.loaded, outcome);
                    false
                }
                Some(Err(e)) if compressed => {
                    failure = Some(format!(
                        "{}: {}; the compressed file is not read further",
                        candidate.name, e.message
                    ));
                    true
                }
                Some(Err(e)) => {
                    failure = Some(format!(
                        "{}: {}; it is read again from byte {} at the next scan",
                        candidate.name,
                        e.message,
                        in_file(reader.offset())
                    ));
                    true
                }
            };
            if end || batch.len() >= BATCH {
                let offset = in_file(reader.offset()).max(committed);
                let checkpoint = self.checkpoint(&file, candidate, key, offset)?;
                if batch.is_empty() {
                    if offset > committed {
                        db::transaction(conn, |conn| self.commit(conn, &checkpoint))?;
                    }
                } else {
                    let id = match &import {
                        Some(id) => id.clone(),
                        None => {
                            let row = self
                                .loaded
                                .new_import(Origin::Spool, Some(candidate.name.clone()));
                            cdr_imports::insert(conn, &row)?;
                            import = Some(row.id.clone());
                            row.id
                        }
                    };
                    let added = batch.store(conn, &id, (offset - committed) as i64, |conn| {
                        self.commit(conn, &checkpoint)
                    })?;
                    add_counts(&mut counts, &added);
                }
                committed = offset;
                fault::hit("spool_after_batch");
            }
            if end {
                break;
            }
        }
        if compressed {
            // Read to its end (or unreadable past `failure`: not read again either way).
            let end = file
                .metadata()
                .map_err(|e| unreadable(&candidate.path, e))?
                .len();
            let checkpoint = self.checkpoint(&file, candidate, key, end)?;
            db::transaction(conn, |conn| {
                if let Some(id) = &import {
                    // The compressed bytes, counted once they are all read.
                    cdr_imports::add(conn, id, &Counts::default(), &[], 0, end as i64)?;
                }
                self.commit(conn, &checkpoint)
            })?;
            committed = end;
        }
        let Some(id) = import else {
            return match failure {
                Some(message) => Err(AppError::bad_request(message)),
                None => Ok(None),
            };
        };
        let sha256 = range_hash(&file, start, committed)?;
        cdr_imports::finish(conn, &id, failure.as_deref(), Some(&sha256))?;
        Ok(Some((id, counts)))
    }

    /// Inside a batch's transaction: the lease renewed (or the batch rolled back when
    /// another runner took it) and the checkpoint moved.
    fn commit(&self, conn: &mut DbConnection, checkpoint: &Checkpoint) -> AppResult<()> {
        cdr_spool_files::renew_lease(
            conn,
            self.source_id(),
            self.owner,
            self.lease_until(db::now()),
        )?;
        cdr_spool_files::save(conn, checkpoint)
    }

    fn checkpoint(
        &self,
        file: &File,
        candidate: &Candidate,
        key: &str,
        offset: u64,
    ) -> AppResult<Checkpoint> {
        let (head_len, head_sha256) = head_hash(file, offset.min(HEAD_BYTES))?;
        Ok(Checkpoint {
            source_id: self.source_id().to_string(),
            file_key: key.to_string(),
            path: candidate.path.to_string_lossy().into_owned(),
            byte_offset: offset as i64,
            updated_at: db::now(),
            head_len: head_len as i64,
            head_sha256,
        })
    }
}

fn unreadable(path: &Path, e: io::Error) -> AppError {
    AppError::bad_request(format!("spool: {}: {e}", path.display()))
}

/// The length read (at most `len`) and SHA-256 (hex) of the file's first `len` bytes.
fn head_hash(file: &File, len: u64) -> AppResult<(u64, String)> {
    let mut head = vec![0u8; len as usize];
    let mut got = 0;
    while got < head.len() {
        match file.read_at(&mut head[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AppError::bad_request(format!("spool: {e}"))),
        }
    }
    Ok((got as u64, hex::encode(Sha256::digest(&head[..got]))))
}

/// SHA-256 (hex) of the file's bytes from `start` to `end`: what an import read.
fn range_hash(file: &File, start: u64, end: u64) -> AppResult<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = start;
    while at < end {
        let want = ((end - at) as usize).min(buf.len());
        let n = file
            .read_at(&mut buf[..want], at)
            .map_err(|e| AppError::bad_request(format!("spool: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// How many header rows a file of `format` starts with, given its first bytes: CDR-Stats
/// and CSV exports of Webex and callcsv one, CUCM two (names, then types); JSON none.
pub fn header_rows(format: Format, first: &[u8]) -> usize {
    let first = first
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(first);
    let json = matches!(
        first.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    );
    match format {
        Format::CucmCdr => 2,
        Format::CdrstatsCsv => 1,
        Format::WebexCdr | Format::Callcsv if !json => 1,
        _ => 0,
    }
}

/// Whether the file starts with gzip's magic bytes.
fn is_gzip(file: &File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let n = file.read_at(&mut magic, 0)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// Whether a gzip file decompresses to its end (one still being written does not).
fn gzip_complete(file: &File) -> bool {
    let mut whole = flate2::read::MultiGzDecoder::new(io::BufReader::new(file));
    io::copy(&mut whole, &mut io::sink()).is_ok()
}

/// How many line ends `bytes` holds.
fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// How many lines the file's first `end` bytes hold (a resume point is a line's start).
fn lines_up_to(file: &File, end: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let (mut at, mut lines) = (0, 0);
    while at < end {
        let want = buf.len().min((end - at) as usize);
        let n = file.read_at(&mut buf[..want], at)?;
        if n == 0 {
            break;
        }
        lines += newlines(&buf[..n]);
        at += n as u64;
    }
    Ok(lines)
}

/// The file's header rows as bytes (with their line ends), empty when the format has none.
fn header_of(file: &File, format: Format) -> AppResult<Vec<u8>> {
    let mut first = vec![0u8; 64 * 1024];
    let n = file
        .read_at(&mut first, 0)
        .map_err(|e| AppError::bad_request(format!("spool: {e}")))?;
    first.truncate(n);
    let rows = header_rows(format, &first);
    if rows == 0 {
        return Ok(vec![]);
    }
    match first
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(rows - 1)
    {
        Some((end, _)) => {
            first.truncate(end + 1);
            Ok(first)
        }
        None => Err(AppError::bad_request(format!(
            "spool: the first {rows} row(s) (the header) are longer than 64 KiB"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rows_by_format_and_content() {
        assert_eq!(header_rows(Format::CucmCdr, b"\"cdrRecordType\""), 2);
        assert_eq!(header_rows(Format::CdrstatsCsv, b"\xEF\xBB\xBFcallid"), 1);
        assert_eq!(header_rows(Format::WebexCdr, b"Report ID,"), 1);
        assert_eq!(header_rows(Format::WebexCdr, b" {\"items\""), 0);
        assert_eq!(header_rows(Format::AsteriskCsv, b"\"\",\"201\""), 0);
    }
}
