//! Decoding a response body: decompression (gzip, deflate, br, zstd) and
//! the character set of text.
//!
//! Design, decompression: each call decodes from the front of the
//! compressed input and stops once it has about [`PIECE`] (64 KiB) of
//! output, leaving the rest of the input for the next call, so a piece's
//! size does not depend on the compression ratio: a few hundred bytes of
//! brotli that decode to gigabytes come out 64 KiB at a time, and the
//! body's size limit (see `body`) stops them at the first piece past it.
//! Brotli is decoded pull-style (`brotli-decompressor`'s
//! `BrotliDecompressStream` into a buffer of a piece), zstd likewise
//! (libzstd's streaming decoder, its window capped: see `zstandard`);
//! gzip and deflate
//! by `flate2`'s write decoders, one `write` at a time (each gives at most
//! their 32 KiB buffer) into a [`Sink`] taken after every call. A gzip
//! body may have several members, and bytes after them (see `gzip`).
//! `deflate` is meant to be zlib-wrapped (RFC 9110) but some servers send
//! raw deflate: the first byte tells which.
//!
//! Stacked codings (`Content-Encoding: gzip, br`, or one header line per
//! coding, as when an application and a proxy in front of it both
//! compress) are decoded layer by layer, the last applied first (RFC 9110
//! section 8.4): each layer takes a piece of what the one outside it gave
//! (at most a piece is held between two layers), and every layer's output
//! counts against the body's size limit, so a bomb in any layer stops.
//! A body is decoded through all its codings or not at all: one the
//! client does not know (or more than [`MAX_LAYERS`]) leaves the bytes
//! and the `Content-Encoding` header as sent.
//!
//! Design, text: the character set is, in order (as browsers do), a byte
//! order mark, the `charset` of `Content-Type`, a `<meta charset>` (or
//! `http-equiv` Content-Type) tag within the first 1024 bytes of an HTML
//! document, and UTF-8. Decoding is by `encoding_rs`, which replaces
//! malformed sequences with U+FFFD instead of failing.

use std::io::{self, Write};

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use bytes::{Buf, Bytes};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use flate2::write::{DeflateDecoder, ZlibDecoder};
use http::header::{HeaderMap, CONTENT_ENCODING};

use crate::gzip::Gzip;
use crate::zstandard::Zstd;

/// Why a chunk could not be decoded: the compressed data is corrupt or
/// truncated.
#[derive(Debug)]
pub(crate) struct Corrupt(pub(crate) io::Error);

/// About the most one call gives: the decoders stop taking input once
/// they have given this much (the `flate2` ones give up to 32 KiB more,
/// the size of their own buffer).
pub(crate) const PIECE: usize = 64 << 10;

/// Where a `flate2` write decoder writes: a buffer taken after every
/// call.
pub(crate) struct Sink {
    buf: Vec<u8>,
}

impl Sink {
    pub(crate) fn new() -> Sink {
        Sink { buf: Vec::new() }
    }

    /// Whether it holds a piece's worth already.
    pub(crate) fn full(&self) -> bool {
        self.buf.len() >= PIECE
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Kind {
    Identity,
    Gzip(Box<Gzip>),
    /// `deflate`, before its first byte says zlib or raw.
    DeflateUnknown(Sink),
    Zlib(Box<ZlibDecoder<Sink>>),
    RawDeflate(Box<DeflateDecoder<Sink>>),
    Brotli(Box<Brotli>),
    Zstd(Box<Zstd>),
}

/// The most content codings decoded one inside another: a longer list is
/// passed through as sent (urllib3 stops at 5 too: each layer is a
/// decoder and its buffers).
pub(crate) const MAX_LAYERS: usize = 5;

/// A content coding the client decodes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Coding {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

impl Coding {
    /// The coding a list element names: `Ok(None)` for `identity` (no
    /// change), `Err` for one the client does not decode.
    fn parse(name: &str) -> Result<Option<Coding>, ()> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        Ok(Some(if is("gzip") || is("x-gzip") {
            Coding::Gzip
        } else if is("deflate") {
            Coding::Deflate
        } else if is("br") {
            Coding::Br
        } else if is("zstd") {
            Coding::Zstd
        } else if is("identity") {
            return Ok(None);
        } else {
            return Err(());
        }))
    }
}

/// The codings `Content-Encoding` lists, in the order they were applied:
/// every header line, each a comma-separated list (RFC 9110 section
/// 8.4; empty elements and `identity` are skipped). `None` when the body
/// must be passed through as sent: a coding the client does not decode,
/// a value that is not text, or more than [`MAX_LAYERS`]. No allocation.
fn codings(headers: &HeaderMap) -> Option<([Coding; MAX_LAYERS], usize)> {
    let mut list = [Coding::Gzip; MAX_LAYERS];
    let mut n = 0;
    for value in headers.get_all(CONTENT_ENCODING) {
        for name in value.to_str().ok()?.split(',').map(str::trim) {
            if name.is_empty() {
                continue;
            }
            if let Some(coding) = Coding::parse(name).ok()? {
                *list.get_mut(n)? = coding;
                n += 1;
            }
        }
    }
    Some((list, n))
}

/// Decompresses one response body, piece by piece: every content coding
/// listed, the last one applied first (RFC 9110 section 8.4), or none.
pub(crate) struct Decoder {
    /// Decodes the bytes as received: the last coding listed.
    layer: Layer,
    /// Decodes what `layer` gives, when codings were stacked.
    next: Option<Box<Next>>,
}

/// The inner layers of stacked codings, and what the outer layer gave
/// that they have not taken yet (a piece at most).
struct Next {
    decoder: Decoder,
    pending: Bytes,
    /// All the outer layer gave.
    given: u64,
    /// The outer layer has given its last piece.
    outer_done: bool,
}

impl Decoder {
    /// The decoder for a response with these headers: by its
    /// `Content-Encoding` if `enabled`. A body is decoded through every
    /// coding listed, or not at all (a coding the client does not know,
    /// or too many: it is passed through as sent).
    pub(crate) fn for_headers(headers: &HeaderMap, enabled: bool) -> Decoder {
        match codings(headers).filter(|_| enabled) {
            Some((list, n)) => Decoder::chain(&list[..n]),
            None => Decoder::chain(&[]),
        }
    }

    /// The decoder of a body to which `codings` were applied in order.
    fn chain(codings: &[Coding]) -> Decoder {
        let Some((last, before)) = codings.split_last() else {
            return Decoder {
                layer: Layer::new(None),
                next: None,
            };
        };
        let next = (!before.is_empty()).then(|| {
            Box::new(Next {
                decoder: Decoder::chain(before),
                pending: Bytes::new(),
                given: 0,
                outer_done: false,
            })
        });
        Decoder {
            layer: Layer::new(Some(*last)),
            next,
        }
    }

    /// True when the body is passed through unchanged.
    pub(crate) fn is_identity(&self) -> bool {
        self.layer.is_identity()
    }

    /// Whether the decoder holds output, or input for an inner layer,
    /// that it can work on without more input.
    pub(crate) fn has_output(&self) -> bool {
        self.layer.has_output()
            || self
                .next
                .as_ref()
                .is_some_and(|n| !n.pending.is_empty() || n.decoder.has_output())
    }

    /// The most bytes one inner layer of stacked codings has been given
    /// (0 without stacking): counted against the size limit as the
    /// output is, so a bomb in an outer layer stops too.
    pub(crate) fn largest_inner(&self) -> u64 {
        self.next
            .as_ref()
            .map_or(0, |n| n.given.max(n.decoder.largest_inner()))
    }

    /// Decodes from the front of `data`, taking what it used, into about
    /// [`PIECE`] bytes at most (all of `data` as it is for identity); the
    /// result may be empty (the decoder needs more input, or worked on
    /// an inner layer: see [`has_output`](Decoder::has_output)).
    pub(crate) fn feed(&mut self, data: &mut Bytes) -> Result<Bytes, Corrupt> {
        let Some(next) = &mut self.next else {
            return self.layer.feed(data);
        };
        if next.pending.is_empty() && !next.decoder.has_output() {
            next.pending = self.layer.feed(data)?;
            next.given = next.given.saturating_add(next.pending.len() as u64);
        }
        next.decoder.feed(&mut next.pending)
    }

    /// The end of the body: the next piece of what the decoder still
    /// holds, and whether that was the last; fails if a compressed
    /// stream was cut short.
    pub(crate) fn finish(&mut self) -> Result<(Bytes, bool), Corrupt> {
        let Some(next) = &mut self.next else {
            return self.layer.finish();
        };
        loop {
            if !next.pending.is_empty() || next.decoder.has_output() {
                let out = next.decoder.feed(&mut next.pending)?;
                if !out.is_empty() {
                    return Ok((out, false));
                }
            } else if !next.outer_done {
                let (tail, last) = self.layer.finish()?;
                next.given = next.given.saturating_add(tail.len() as u64);
                next.pending = tail;
                next.outer_done = last;
            } else {
                return next.decoder.finish();
            }
        }
    }
}

/// One content coding's decoder.
struct Layer {
    kind: Kind,
    fed: bool,
}

impl Layer {
    fn new(coding: Option<Coding>) -> Layer {
        let kind = match coding {
            None => Kind::Identity,
            Some(Coding::Gzip) => Kind::Gzip(Box::new(Gzip::new(Sink::new()))),
            Some(Coding::Deflate) => Kind::DeflateUnknown(Sink::new()),
            Some(Coding::Br) => Kind::Brotli(Box::new(Brotli::new())),
            Some(Coding::Zstd) => Kind::Zstd(Box::new(Zstd::new())),
        };
        Layer { kind, fed: false }
    }

    fn is_identity(&self) -> bool {
        matches!(self.kind, Kind::Identity)
    }

    fn has_output(&self) -> bool {
        match &self.kind {
            Kind::Brotli(b) => b.more_output,
            Kind::Zstd(z) => z.more_output,
            _ => false,
        }
    }

    fn feed(&mut self, data: &mut Bytes) -> Result<Bytes, Corrupt> {
        if let Kind::Identity = self.kind {
            return Ok(std::mem::take(data));
        }
        if data.is_empty() && !self.has_output() {
            return Ok(Bytes::new());
        }
        self.fed = true;
        if let Kind::DeflateUnknown(sink) = &mut self.kind {
            let sink = std::mem::replace(sink, Sink::new());
            self.kind = if looks_like_zlib(data) {
                Kind::Zlib(Box::new(ZlibDecoder::new(sink)))
            } else {
                Kind::RawDeflate(Box::new(DeflateDecoder::new(sink)))
            };
        }
        let r = match &mut self.kind {
            Kind::Identity | Kind::DeflateUnknown(_) => Ok(0),
            Kind::Gzip(d) => d.write(data),
            Kind::Zlib(d) => write_some(d.as_mut(), data),
            Kind::RawDeflate(d) => write_some(d.as_mut(), data),
            Kind::Brotli(d) => return d.decode(data),
            Kind::Zstd(d) => return d.decode(data),
        };
        let used = r.map_err(Corrupt)?;
        data.advance(used);
        Ok(self.take())
    }

    fn finish(&mut self) -> Result<(Bytes, bool), Corrupt> {
        if !self.fed {
            return Ok((Bytes::new(), true));
        }
        let r = match &mut self.kind {
            Kind::Identity | Kind::DeflateUnknown(_) => return Ok((Bytes::new(), true)),
            Kind::Gzip(d) => d.finish(),
            Kind::Zlib(d) => d.try_finish(),
            Kind::RawDeflate(d) => d.try_finish(),
            Kind::Brotli(d) => return d.finish(),
            Kind::Zstd(d) => return d.finish(),
        };
        r.map_err(Corrupt)?;
        Ok((self.take(), true))
    }

    fn take(&mut self) -> Bytes {
        let sink = match &mut self.kind {
            Kind::Identity | Kind::Brotli(_) | Kind::Zstd(_) => return Bytes::new(),
            Kind::DeflateUnknown(s) => s,
            Kind::Gzip(d) => d.sink(),
            Kind::Zlib(d) => d.get_mut(),
            Kind::RawDeflate(d) => d.get_mut(),
        };
        Bytes::from(std::mem::take(&mut sink.buf))
    }
}

/// A `flate2` write decoder and its sink.
trait FlateWriter: Write {
    fn sink(&mut self) -> &mut Sink;
}

impl FlateWriter for ZlibDecoder<Sink> {
    fn sink(&mut self) -> &mut Sink {
        self.get_mut()
    }
}

impl FlateWriter for DeflateDecoder<Sink> {
    fn sink(&mut self) -> &mut Sink {
        self.get_mut()
    }
}

/// Writes `data` into `d` one `write` at a time (each gives at most the
/// decoder's 32 KiB buffer) until the sink holds a piece; how much of
/// `data` was used. Bytes after the end of the stream are an error.
fn write_some(d: &mut dyn FlateWriter, data: &[u8]) -> io::Result<usize> {
    let mut used = 0;
    while used < data.len() && !d.sink().full() {
        match d.write(&data[used..])? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => used += n,
        }
    }
    Ok(used)
}

/// A brotli stream, decoded pull-style into pieces of [`PIECE`] bytes: a
/// few hundred bytes of brotli can decode to gigabytes.
struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    /// The last call stopped with output still to give.
    more_output: bool,
    done: bool,
}

impl Brotli {
    fn new() -> Brotli {
        let a = StandardAlloc::default;
        Brotli {
            state: BrotliState::new(a(), a(), a()),
            more_output: false,
            done: false,
        }
    }

    /// One piece from the front of `data`; bytes after the end of the
    /// stream are ignored.
    fn decode(&mut self, data: &mut Bytes) -> Result<Bytes, Corrupt> {
        if self.done {
            data.clear();
            return Ok(Bytes::new());
        }
        let mut out = vec![0u8; PIECE];
        let (mut avail_in, mut in_at) = (data.len(), 0);
        let (mut avail_out, mut out_at, mut total) = (PIECE, 0, 0);
        let r = BrotliDecompressStream(
            &mut avail_in,
            &mut in_at,
            data,
            &mut avail_out,
            &mut out_at,
            &mut out,
            &mut total,
            &mut self.state,
        );
        data.advance(in_at);
        out.truncate(out_at);
        self.more_output = matches!(r, BrotliResult::NeedsMoreOutput);
        match r {
            BrotliResult::ResultFailure => {
                return Err(Corrupt(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt brotli data",
                )))
            }
            BrotliResult::ResultSuccess => self.done = true,
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {}
        }
        Ok(Bytes::from(out))
    }

    /// The end of the input: what is left, piece by piece.
    fn finish(&mut self) -> Result<(Bytes, bool), Corrupt> {
        if !self.done && !self.more_output {
            return Err(Corrupt(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the brotli stream was cut short",
            )));
        }
        let piece = self.decode(&mut Bytes::new())?;
        Ok((piece, self.done))
    }
}

/// A zlib stream starts with a header whose first two bytes, as a
/// big-endian number, are a multiple of 31, with compression method 8.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        [cmf] => cmf & 0x0f == 8 && cmf >> 4 <= 7,
        [] => false,
    }
}

/// Decodes `body` to text; see the module docs for how the character set
/// is chosen.
pub(crate) fn text(body: &[u8], content_type: Option<&str>) -> String {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        return enc
            .decode_without_bom_handling(&body[bom_len..])
            .0
            .into_owned();
    }
    let enc = content_type
        .and_then(charset_param)
        .or_else(|| {
            let html = content_type.is_none_or(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("text/html") || ct.starts_with("application/xhtml")
            });
            if html {
                meta_charset(&body[..body.len().min(1024)])
            } else {
                None
            }
        })
        .unwrap_or(UTF_8);
    enc.decode_without_bom_handling(body).0.into_owned()
}

/// The encoding named by the `charset` parameter of a `Content-Type`.
fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(
            value
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .as_bytes(),
        )
    })
}

/// The encoding a `<meta>` tag in `head` names, by `charset=` inside the
/// tag (covers both `<meta charset=..>` and `http-equiv` Content-Type).
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut rest = lower.as_slice();
    while let Some(at) = find(rest, b"<meta") {
        let tag = &rest[at..];
        let tag = &tag[..find(tag, b">").unwrap_or(tag.len())];
        if let Some(c) = find(tag, b"charset") {
            let value = tag[c + 7..].trim_ascii_start();
            if let Some(value) = value.strip_prefix(b"=") {
                let value = value
                    .trim_ascii_start()
                    .strip_prefix(b"\"")
                    .or_else(|| value.trim_ascii_start().strip_prefix(b"'"))
                    .unwrap_or(value.trim_ascii_start());
                let end = value
                    .iter()
                    .position(|b| {
                        matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') || b.is_ascii_whitespace()
                    })
                    .unwrap_or(value.len());
                if let Some(enc) = Encoding::for_label(&value[..end]) {
                    // A page that could be read as ASCII to find its meta
                    // tag is not UTF-16 (WHATWG); x-user-defined is 1252.
                    return Some(match enc.name() {
                        "UTF-16LE" | "UTF-16BE" => UTF_8,
                        "x-user-defined" => WINDOWS_1252,
                        _ => enc,
                    });
                }
            }
        }
        rest = &rest[at + 5..];
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// A decoder, and the most it may give in all.
    struct Limited(Decoder, u64);

    /// The most one call may give: a piece, and the 32 KiB buffer of a
    /// `flate2` decoder.
    const MAX_CALL: usize = PIECE + (32 << 10);

    fn decoder(encoding: &str, limit: u64) -> Limited {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, HeaderValue::from_str(encoding).unwrap());
        Limited(Decoder::for_headers(&h, true), limit)
    }

    /// Feeds `data` in pieces of `piece` bytes, then finishes; checks
    /// that no call gives more than [`MAX_CALL`] and the whole no more
    /// than the limit.
    fn run(d: &mut Limited, data: &[u8], piece: usize) -> Result<Vec<u8>, Corrupt> {
        let mut out = Vec::new();
        let mut add = |b: Bytes| {
            assert!(b.len() <= MAX_CALL, "one call gave {} bytes", b.len());
            out.extend_from_slice(&b);
            assert!(out.len() as u64 <= d.1, "more than the limit");
        };
        for c in data.chunks(piece) {
            let mut c = Bytes::copy_from_slice(c);
            while !c.is_empty() || d.0.has_output() {
                add(d.0.feed(&mut c)?);
            }
        }
        loop {
            let (b, last) = d.0.finish()?;
            add(b);
            if last {
                return Ok(out);
            }
        }
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    /// A bomb of each encoding decodes in bounded pieces, fed whole or a
    /// few bytes at a time: a few hundred bytes of brotli are 64 MiB.
    #[test]
    fn every_call_gives_a_bounded_piece_whatever_the_ratio() {
        let zeros = vec![0u8; 64 << 20];
        let br = brotli(&zeros);
        assert!(br.len() < 4096, "{}", br.len());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&zeros[..8 << 20]).unwrap();
        let z = z.finish().unwrap();
        let g = gzip(&zeros[..8 << 20]);
        let zst = zstd::bulk::compress(&zeros, 3).unwrap();
        assert!(zst.len() < 4096, "{}", zst.len());
        for (encoding, body, size) in [
            ("br", &br, 64 << 20),
            ("zstd", &zst, 64 << 20),
            ("deflate", &z, 8 << 20),
            ("gzip", &g, 8 << 20),
        ] {
            for piece in [body.len(), 7] {
                let out = run(&mut decoder(encoding, u64::MAX), body, piece).unwrap();
                assert_eq!(out.len(), size, "{encoding}");
                assert!(out.iter().all(|b| *b == 0));
            }
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_and_both_deflates_decode_in_small_pieces() {
        let text = b"hello hello hello hello world".repeat(100);
        assert_eq!(
            run(&mut decoder("gzip", 1 << 20), &gzip(&text), 7).unwrap(),
            text
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        let z = z.finish().unwrap();
        assert_eq!(run(&mut decoder("deflate", 1 << 20), &z, 1).unwrap(), text);
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(&text).unwrap();
        let r = r.finish().unwrap();
        assert_eq!(run(&mut decoder("deflate", 1 << 20), &r, 3).unwrap(), text);
    }

    #[test]
    fn gzip_members_follow_one_another_and_trailing_bytes_are_ignored() {
        let (a, b) = (b"first member; ".repeat(30), b"second member".repeat(20));
        let mut two = gzip(&a);
        two.extend_from_slice(&gzip(&b));
        let both = [&a[..], &b[..]].concat();
        for piece in [1, 2, 3, 7, 100, two.len()] {
            let got = run(&mut decoder("gzip", 1 << 20), &two, piece).unwrap();
            assert!(got == both, "in pieces of {piece}");
            // Junk or zero padding after a member: the members' content.
            for tail in [&b"\0\0\0\0junk"[..], &[0u8; 3], &[0x1f], b"x"] {
                let mut body = two.clone();
                body.extend_from_slice(tail);
                let got = run(&mut decoder("gzip", 1 << 20), &body, piece).unwrap();
                assert!(got == both, "in pieces of {piece}, tail {tail:?}");
            }
        }
        // A second member cut short, or corrupt, is an error.
        let mut cut = gzip(&a);
        cut.extend_from_slice(&gzip(&b)[..20]);
        let e = run(&mut decoder("gzip", 1 << 20), &cut, 5).unwrap_err();
        let _: Corrupt = e;
        let mut bad = gzip(&a);
        bad.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
        let e = run(&mut decoder("gzip", 1 << 20), &bad, 4).unwrap_err();
        let _: Corrupt = e;
        // A member with a wrong CRC, followed by another: an error.
        let mut crc = gzip(&a);
        let at = crc.len() - 8;
        crc[at] ^= 0xff;
        crc.extend_from_slice(&gzip(&b));
        let e = run(&mut decoder("gzip", 1 << 20), &crc, 9).unwrap_err();
        let _: Corrupt = e;
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        let g = gzip(&b"some text".repeat(50));
        let e = run(&mut decoder("gzip", 1 << 20), &g[..g.len() - 4], 5).unwrap_err();
        let _: Corrupt = e;
        let e = run(&mut decoder("gzip", 1 << 20), b"definitely not gzip", 5).unwrap_err();
        let _: Corrupt = e;
        let e = run(&mut decoder("br", 1 << 20), &[0xff; 64], 5).unwrap_err();
        let _: Corrupt = e;
    }

    #[test]
    fn empty_and_unknown_bodies() {
        assert!(run(&mut decoder("gzip", 10), b"", 1).unwrap().is_empty());
        let mut d = decoder("compress", 10);
        assert!(d.0.is_identity());
        assert_eq!(run(&mut d, b"raw", 1).unwrap(), b"raw");
        let d = Decoder::for_headers(&HeaderMap::new(), true);
        assert!(d.is_identity());
    }

    /// A decoder for a response with one `Content-Encoding` line each.
    fn lines(values: &[&str], limit: u64) -> Limited {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CONTENT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        Limited(Decoder::for_headers(&h, true), limit)
    }

    /// Stacked codings decode, the last applied first, however the list
    /// is spelled; one coding unknown, or too many, and nothing is.
    #[test]
    fn stacked_codings_decode_in_reverse_order_or_not_at_all() {
        let text = b"hello stacked world ".repeat(200);
        let gz2 = gzip(&gzip(&text));
        for spelling in [
            &["gzip", "gzip"][..],
            &["gzip, gzip"],
            &["GZIP ,x-gzip"],
            &["gzip,", " , gzip"],
            &["identity", "gzip", "gzip"],
        ] {
            for piece in [1, 5, gz2.len()] {
                let got = run(&mut lines(spelling, 1 << 20), &gz2, piece).unwrap();
                assert!(got == text, "{spelling:?} in pieces of {piece}");
            }
        }
        // gzip applied first, then br: br is decoded first.
        let br_gz = brotli(&gzip(&text));
        assert_eq!(
            run(&mut lines(&["gzip", "br"], 1 << 20), &br_gz, 3).unwrap(),
            text
        );
        assert!(run(&mut lines(&["br", "gzip"], 1 << 20), &br_gz, 3).is_err());
        // zstd at either end of a stack.
        let zst_br_gz = zstd::bulk::compress(&br_gz, 3).unwrap();
        assert_eq!(
            run(&mut lines(&["gzip, br", "zstd"], 1 << 20), &zst_br_gz, 5).unwrap(),
            text
        );
        let gz_zst = gzip(&zstd::bulk::compress(&text, 3).unwrap());
        assert_eq!(
            run(&mut lines(&["zstd", "gzip"], 1 << 20), &gz_zst, 2).unwrap(),
            text
        );
        for passed in [
            &["gzip", "compress"][..],
            &["compress, gzip"],
            &["gzip"; MAX_LAYERS + 1],
            &["identity"],
        ] {
            let mut d = lines(passed, 1 << 20);
            assert!(d.0.is_identity(), "{passed:?}");
            assert_eq!(run(&mut d, &gz2, 7).unwrap(), gz2);
        }
        let d = lines(&["gzip"; MAX_LAYERS], 1 << 20);
        assert!(!d.0.is_identity());
    }

    /// A bomb inside another coding still comes out in bounded pieces,
    /// and the inner layer is given bounded pieces too.
    #[test]
    fn a_stacked_bomb_decodes_in_bounded_pieces() {
        let zeros = vec![0u8; 64 << 20];
        let inner = brotli(&zeros);
        let body = gzip(&inner);
        let mut d = lines(&["br", "gzip"], u64::MAX);
        let out = run(&mut d, &body, 1000).unwrap();
        assert_eq!(out.len(), zeros.len());
        assert_eq!(d.0.largest_inner(), inner.len() as u64);
        // A truncated inner layer is an error.
        let cut = gzip(&gzip(&text_of(5000))[..100]);
        assert!(run(&mut lines(&["gzip", "gzip"], u64::MAX), &cut, 9).is_err());
    }

    fn text_of(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn charset_from_header_bom_and_meta() {
        assert_eq!(
            text(b"caf\xe9", Some("text/plain; charset=ISO-8859-1")),
            "café"
        );
        assert_eq!(
            text(b"caf\xe9", Some("text/plain;charset=\"latin1\"")),
            "café"
        );
        assert_eq!(
            text(
                b"\xef\xbb\xbfcaf\xc3\xa9",
                Some("text/plain; charset=latin1")
            ),
            "café"
        );
        assert_eq!(text(b"\xff\xfec\x00a\x00", None), "ca");
        let page = b"<html><head><META Charset='windows-1251'></head>\xcf\xf0\xe8";
        assert!(text(page, Some("text/html")).ends_with("При"));
        let page =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-15\">\xa4";
        assert!(text(page, None).ends_with('€'));
        // meta is ignored for non-HTML, and UTF-8 is the default.
        assert_eq!(
            text(b"<meta charset=latin1>\xc3\xa9", Some("text/plain")),
            "<meta charset=latin1>é"
        );
        assert_eq!(text(b"\xff", None), "\u{fffd}");
        assert_eq!(
            text(b"<meta charset=utf-16>x", None),
            "<meta charset=utf-16>x"
        );
    }
}
