//! What each connection's bytes go through before the HTTP parser: a request target (path
//! and query) longer than [`MAX_URL_BYTES`] is replaced by a short marker that the
//! application answers with 414 `uri_too_long` in the error shape.
//!
//! Without it, a target of 64 KiB or more never reaches the application: actix-http's parser
//! answers an empty 400 (the `http` crate refuses URIs of 64 KiB) or, past 128 KiB, an empty
//! 431, and no setting changes either. The guard follows the request framing (heads,
//! `Content-Length` and chunked bodies) so that it only ever touches request lines, holds
//! at most [`MAX_URL_BYTES`] of a target that arrives in pieces, and drops the rest of a
//! long one as it arrives. [`Scanner`] is the pure part; [`Guarded`] the I/O wrapper.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request target (path and query) the service reads: 414 above it. Everything the
/// API takes fits in a few hundred bytes; 8 KiB is what common proxies allow.
pub const MAX_URL_BYTES: usize = 8192;

/// The path a too-long target becomes, followed by its length in bytes.
pub const LONG_URL_MARKER: &str = "/.callcsv/uri-too-long/";

/// Longest method the scanner waits for (the longest registered ones have 17 letters);
/// anything else is not HTTP/1 the parser would take, and the scanner lets it through.
const MAX_METHOD_BYTES: usize = 32;
/// Longest header line the scanner keeps to read `Content-Length` / `Transfer-Encoding`.
const MAX_KEPT_LINE: usize = 256;

#[derive(Debug)]
enum State {
    /// Before a request line (blank lines allowed).
    Start,
    Method(usize),
    /// The target so far (`held` has what earlier reads brought).
    Target,
    /// A target over the limit, dropped as it comes; its length so far.
    Skip(usize),
    /// The rest of the request line, up to its LF.
    LineRest,
    /// A header line (its first [`MAX_KEPT_LINE`] bytes in `line`).
    Header,
    Body(u64),
    ChunkSize {
        size: u64,
        extension: bool,
    },
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// Trailer lines after the last chunk; whether the current line is still empty.
    Trailer(bool),
    /// Framing the scanner cannot follow (the parser will refuse it): hands off.
    Pass,
}

/// Follows HTTP/1 requests in a byte stream and rewrites over-long targets (see the module).
#[derive(Debug)]
pub struct Scanner {
    state: State,
    limit: usize,
    held: Vec<u8>,
    line: Vec<u8>,
    line_long: bool,
    content_length: Option<u64>,
    chunked: bool,
    unfollowable: bool,
}

/// What a pass over some input gives: the bytes as they are, or replaced ones.
struct Output<'a> {
    input: &'a [u8],
    /// Bytes before this position are accounted for.
    done: usize,
    changed: Option<Vec<u8>>,
}

impl Output<'_> {
    /// Input up to `to` goes out unchanged.
    fn keep(&mut self, to: usize) {
        if let Some(out) = &mut self.changed {
            out.extend_from_slice(&self.input[self.done..to]);
        }
        self.done = to;
    }

    /// Input up to `to` is left out.
    fn skip(&mut self, to: usize) {
        self.start_changing();
        self.done = to;
    }

    fn insert(&mut self, bytes: &[u8]) {
        self.start_changing();
        if let Some(out) = &mut self.changed {
            out.extend_from_slice(bytes);
        }
    }

    fn start_changing(&mut self) {
        if self.changed.is_none() {
            self.changed = Some(self.input[..self.done].to_vec());
        }
    }
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new(MAX_URL_BYTES)
    }
}

impl Scanner {
    pub fn new(limit: usize) -> Scanner {
        Scanner {
            state: State::Start,
            limit,
            held: Vec::new(),
            line: Vec::new(),
            line_long: false,
            content_length: None,
            chunked: false,
            unfollowable: false,
        }
    }

    /// Takes the next bytes of the connection; `None` when they go to the parser as they
    /// are, else what goes instead (possibly nothing yet: a target being held).
    pub fn feed(&mut self, input: &[u8]) -> Option<Vec<u8>> {
        if matches!(self.state, State::Pass) {
            return None;
        }
        let mut out = Output {
            input,
            done: 0,
            changed: None,
        };
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match &mut self.state {
                State::Pass => break,
                State::Start => {
                    if b != b'\r' && b != b'\n' {
                        self.state = State::Method(0);
                        continue;
                    }
                }
                State::Method(n) => {
                    if b == b' ' {
                        self.state = State::Target;
                        // The target starts after this byte.
                        i += 1;
                        out.keep(i);
                        continue;
                    }
                    *n += 1;
                    if *n > MAX_METHOD_BYTES || b == b'\r' || b == b'\n' {
                        self.state = State::Pass;
                    }
                }
                State::Target => {
                    let end = input[i..]
                        .iter()
                        .position(|&c| c == b' ' || c == b'\r' || c == b'\n')
                        .map(|p| i + p);
                    let to = end.unwrap_or(input.len());
                    let length = self.held.len() + (to - i);
                    if length > self.limit {
                        // Too long: what was held and what came are dropped.
                        self.held = Vec::new();
                        out.skip(to);
                        self.state = State::Skip(length);
                    } else if end.is_some() {
                        // Complete and short: goes out whole.
                        if !self.held.is_empty() {
                            let held = std::mem::take(&mut self.held);
                            out.insert(&held);
                        }
                        out.keep(to);
                        self.state = State::LineRest;
                    } else {
                        // Incomplete: held until it ends or passes the limit.
                        self.held.extend_from_slice(&input[i..to]);
                        out.skip(to);
                    }
                    i = to;
                    if let (Some(_), State::Skip(length)) = (end, &self.state) {
                        out.insert(format!("{LONG_URL_MARKER}{length}").as_bytes());
                        self.state = State::LineRest;
                    }
                    continue;
                }
                State::Skip(length) => {
                    let end = input[i..]
                        .iter()
                        .position(|&c| c == b' ' || c == b'\r' || c == b'\n')
                        .map(|p| i + p);
                    let to = end.unwrap_or(input.len());
                    *length += to - i;
                    out.skip(to);
                    if end.is_some() {
                        out.insert(format!("{LONG_URL_MARKER}{length}").as_bytes());
                        self.state = State::LineRest;
                    }
                    i = to;
                    continue;
                }
                State::LineRest => {
                    if b == b'\n' {
                        self.begin_line();
                        self.content_length = None;
                        self.chunked = false;
                        self.unfollowable = false;
                        self.state = State::Header;
                    }
                }
                State::Header => {
                    if b == b'\n' {
                        self.end_header_line();
                    } else if b != b'\r' {
                        if self.line.len() < MAX_KEPT_LINE {
                            self.line.push(b.to_ascii_lowercase());
                        } else {
                            self.line_long = true;
                        }
                    }
                }
                State::Body(left) => {
                    let n = (*left).min((input.len() - i) as u64);
                    *left -= n;
                    i += n as usize;
                    if *left == 0 {
                        self.state = State::Start;
                    }
                    continue;
                }
                State::ChunkSize { size, extension } => match b {
                    b'\n' if *size == 0 => self.state = State::Trailer(true),
                    b'\n' => self.state = State::ChunkData(*size),
                    b'\r' => {}
                    _ if *extension => {}
                    b';' | b' ' | b'\t' => *extension = true,
                    _ => match (b as char).to_digit(16) {
                        Some(d) if *size >> 60 == 0 => *size = *size * 16 + u64::from(d),
                        _ => self.state = State::Pass,
                    },
                },
                State::ChunkData(left) => {
                    let n = (*left).min((input.len() - i) as u64);
                    *left -= n;
                    i += n as usize;
                    if *left == 0 {
                        self.state = State::ChunkEnd;
                    }
                    continue;
                }
                State::ChunkEnd => {
                    if b == b'\n' {
                        self.state = State::ChunkSize {
                            size: 0,
                            extension: false,
                        };
                    }
                }
                State::Trailer(empty) => {
                    if b == b'\n' {
                        if *empty {
                            self.state = State::Start;
                        } else {
                            *empty = true;
                        }
                    } else if b != b'\r' {
                        *empty = false;
                    }
                }
            }
            i += 1;
        }
        out.keep(input.len());
        out.changed
    }

    fn begin_line(&mut self) {
        self.line.clear();
        self.line_long = false;
    }

    /// A header line ended (or the head, on an empty line).
    fn end_header_line(&mut self) {
        if self.line.is_empty() && !self.line_long {
            self.state = if self.unfollowable {
                State::Pass
            } else if self.chunked {
                State::ChunkSize {
                    size: 0,
                    extension: false,
                }
            } else {
                match self.content_length {
                    Some(n) if n > 0 => State::Body(n),
                    _ => State::Start,
                }
            };
            return;
        }
        if let Some(value) = self.line.strip_prefix(b"content-length:") {
            let value = String::from_utf8_lossy(value);
            match value.trim().parse::<u64>() {
                Ok(n) if self.line_long || self.content_length.is_some_and(|m| m != n) => {
                    self.unfollowable = true
                }
                Ok(n) => self.content_length = Some(n),
                Err(_) => self.unfollowable = true,
            }
        } else if let Some(value) = self.line.strip_prefix(b"transfer-encoding:") {
            if self.line_long {
                self.unfollowable = true;
            } else {
                let value = String::from_utf8_lossy(value);
                let last = value.rsplit(',').next().unwrap_or("").trim().to_string();
                if last == "chunked" {
                    self.chunked = true;
                } else {
                    // The parser refuses other codings and closes the connection.
                    self.unfollowable = true;
                }
            }
        }
        self.begin_line();
    }
}

/// A connection whose incoming bytes pass through a [`Scanner`].
pub struct Guarded<T> {
    io: T,
    scanner: Scanner,
    /// Replaced bytes not yet handed to the reader.
    pending: Vec<u8>,
    pending_from: usize,
}

impl<T> Guarded<T> {
    pub fn new(io: T) -> Guarded<T> {
        Guarded {
            io,
            scanner: Scanner::default(),
            pending: Vec::new(),
            pending_from: 0,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.pending_from < this.pending.len() {
                let n = (this.pending.len() - this.pending_from).min(buf.remaining());
                buf.put_slice(&this.pending[this.pending_from..this.pending_from + n]);
                this.pending_from += n;
                if this.pending_from == this.pending.len() {
                    this.pending = Vec::new();
                    this.pending_from = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let before = buf.filled().len();
            match Pin::new(&mut this.io).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            let read = &buf.filled()[before..];
            if read.is_empty() {
                return Poll::Ready(Ok(()));
            }
            match this.scanner.feed(read) {
                None => return Poll::Ready(Ok(())),
                Some(replaced) => {
                    buf.set_filled(before);
                    this.pending = replaced;
                    // Nothing to hand over yet (a target being held): read on.
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes and returns what the parser would see.
    fn through(limit: usize, input: &[u8], step: usize) -> Vec<u8> {
        let mut scanner = Scanner::new(limit);
        let mut seen = Vec::new();
        for piece in input.chunks(step) {
            match scanner.feed(piece) {
                None => seen.extend_from_slice(piece),
                Some(replaced) => seen.extend_from_slice(&replaced),
            }
        }
        seen
    }

    fn every_split(limit: usize, input: &[u8], expected: &[u8]) {
        for step in 1..=input.len() {
            assert_eq!(
                String::from_utf8_lossy(&through(limit, input, step)),
                String::from_utf8_lossy(expected),
                "in pieces of {step}"
            );
        }
    }

    #[test]
    fn short_targets_pass_unchanged() {
        let input =
            b"GET /brands?page=2 HTTP/1.1\r\nHost: x\r\n\r\n\r\nDELETE /a/b HTTP/1.1\r\n\r\n";
        every_split(16, input, input);
        // Whole in one read: nothing copied.
        assert!(Scanner::new(16).feed(input).is_none());
        let exact = b"GET /123456789012345 HTTP/1.1\r\n\r\n";
        every_split(16, exact, exact);
    }

    #[test]
    fn long_targets_become_the_marker() {
        let long = format!("/{}", "a".repeat(16));
        let input = format!("GET {long} HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\n\r\n");
        let expected =
            format!("GET {LONG_URL_MARKER}17 HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\n\r\n");
        every_split(16, input.as_bytes(), expected.as_bytes());
        // Far beyond the limit, in big pieces.
        let long = format!("/?q={}", "b".repeat(100_000));
        let input = format!("GET {long} HTTP/1.1\r\n\r\n");
        let expected = format!("GET {LONG_URL_MARKER}100004 HTTP/1.1\r\n\r\n");
        for step in [1000, 8192, 65536, input.len()] {
            assert_eq!(through(8192, input.as_bytes(), step), expected.as_bytes());
        }
    }

    #[test]
    fn bodies_are_never_touched() {
        // A body that looks like a request line with a long target, after a short one.
        let body = format!("GET /{} HTTP/1.1\r\n", "a".repeat(40));
        let head = format!(
            "POST /calls HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let next = format!("GET /{} HTTP/1.1\r\n\r\n", "b".repeat(40));
        let input = format!("{head}{body}{next}");
        let expected = format!("{head}{body}GET {LONG_URL_MARKER}41 HTTP/1.1\r\n\r\n");
        every_split(16, input.as_bytes(), expected.as_bytes());
    }

    #[test]
    fn chunked_bodies_are_followed() {
        let data = format!("GET /{}\r\n", "a".repeat(30));
        let head = format!(
            "POST /calls HTTP/1.1\r\ntransfer-encoding: gzip, Chunked\r\n\r\n\
             5;ext=1\r\nGET /\r\n{:x}\r\n{data}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            data.len()
        );
        let input = format!("{head}GET /{} HTTP/1.1\r\n\r\n", "c".repeat(30));
        let expected = format!("{head}GET {LONG_URL_MARKER}31 HTTP/1.1\r\n\r\n");
        every_split(16, input.as_bytes(), expected.as_bytes());
    }

    #[test]
    fn unfollowable_framing_is_left_to_the_parser() {
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "NOTAMETHODNOTAMETHODNOTAMETHODNOTAMETHOD",
        ] {
            let mut input = head.as_bytes().to_vec();
            input.extend_from_slice(b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n");
            every_split(16, &input, &input);
        }
    }
}
