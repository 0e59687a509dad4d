//! Decoding a response body: decompression (gzip, deflate, br) and the
//! character set of text.
//!
//! Design, decompression: the decoders are the synchronous, push-style
//! "write" decoders of `flate2` and `brotli-decompressor`. Each compressed
//! chunk that arrives is written into the decoder, which writes the
//! decompressed bytes into a [`Sink`]; the sink is taken after every chunk
//! and handed on. The sink refuses to grow past the size limit, so a
//! decompression bomb stops as soon as its output passes the limit,
//! without ever holding more than that in memory, and no chunk waits for
//! the whole body. A gzip body may have several members, and bytes after
//! them (see `gzip`). `deflate` is meant to be zlib-wrapped (RFC 9110) but
//! some servers send raw deflate: the first byte tells which.
//!
//! Design, text: the character set is, in order (as browsers do), a byte
//! order mark, the `charset` of `Content-Type`, a `<meta charset>` (or
//! `http-equiv` Content-Type) tag within the first 1024 bytes of an HTML
//! document, and UTF-8. Decoding is by `encoding_rs`, which replaces
//! malformed sequences with U+FFFD instead of failing.

use std::io::{self, Write};

use bytes::Bytes;
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use flate2::write::{DeflateDecoder, ZlibDecoder};
use http::header::{HeaderMap, CONTENT_ENCODING};

use crate::gzip::Gzip;

/// Why a chunk could not be decoded.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The decoded body passed the limit.
    TooLarge,
    /// The compressed data is corrupt or truncated.
    Corrupt(io::Error),
}

/// Where a decoder writes: a buffer that refuses to hold more than
/// `room` bytes, the room the caller gave the current call.
pub(crate) struct Sink {
    buf: Vec<u8>,
    room: u64,
    over: bool,
}

impl Sink {
    pub(crate) fn new() -> Sink {
        Sink {
            buf: Vec::new(),
            room: 0,
            over: false,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if (self.buf.len() as u64).saturating_add(b.len() as u64) > self.room {
            self.over = true;
            return Err(io::Error::other("decoded body passes the size limit"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

type BrotliDecoder = brotli_decompressor::DecompressorWriter<Sink>;

enum Kind {
    Identity,
    Gzip(Box<Gzip>),
    /// `deflate`, before its first byte says zlib or raw.
    DeflateUnknown(Sink),
    Zlib(Box<ZlibDecoder<Sink>>),
    RawDeflate(Box<DeflateDecoder<Sink>>),
    Brotli(Box<BrotliDecoder>),
}

/// Decompresses one response body, chunk by chunk.
pub(crate) struct Decoder {
    kind: Kind,
    fed: bool,
}

impl Decoder {
    /// The decoder for a response with these headers: by its
    /// `Content-Encoding` if `enabled`; unknown or stacked encodings are
    /// passed through as they are.
    pub(crate) fn for_headers(headers: &HeaderMap, enabled: bool) -> Decoder {
        let sink = Sink::new;
        let encoding = headers
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        let kind = match encoding.as_deref() {
            _ if !enabled => Kind::Identity,
            Some("gzip" | "x-gzip") => Kind::Gzip(Box::new(Gzip::new(sink()))),
            Some("deflate") => Kind::DeflateUnknown(sink()),
            Some("br") => Kind::Brotli(Box::new(BrotliDecoder::new(sink(), 8192))),
            _ => Kind::Identity,
        };
        Decoder { kind, fed: false }
    }

    /// True when the body is passed through unchanged.
    pub(crate) fn is_identity(&self) -> bool {
        matches!(self.kind, Kind::Identity)
    }

    /// Decodes one chunk into at most `room` bytes (more is
    /// [`DecodeError::TooLarge`]); the result may be empty (the decoder
    /// needs more).
    pub(crate) fn feed(&mut self, data: Bytes, room: u64) -> Result<Bytes, DecodeError> {
        if data.is_empty() {
            return Ok(data);
        }
        self.fed = true;
        if let Kind::DeflateUnknown(sink) = &mut self.kind {
            let sink = std::mem::replace(sink, Sink::new());
            self.kind = if looks_like_zlib(&data) {
                Kind::Zlib(Box::new(ZlibDecoder::new(sink)))
            } else {
                Kind::RawDeflate(Box::new(DeflateDecoder::new(sink)))
            };
        }
        self.make_room(room);
        let r = match &mut self.kind {
            Kind::Identity => return Ok(data),
            Kind::DeflateUnknown(_) => Ok(()),
            Kind::Gzip(d) => d.write(&data),
            Kind::Zlib(d) => d.write_all(&data),
            Kind::RawDeflate(d) => d.write_all(&data),
            Kind::Brotli(d) => d.write_all(&data),
        };
        self.take(r)
    }

    /// The end of the body: flushes what the decoder still holds (at most
    /// `room` bytes), and fails if the compressed stream was cut short.
    pub(crate) fn finish(&mut self, room: u64) -> Result<Bytes, DecodeError> {
        if !self.fed {
            return Ok(Bytes::new());
        }
        self.make_room(room);
        let r = match &mut self.kind {
            Kind::Identity | Kind::DeflateUnknown(_) => return Ok(Bytes::new()),
            Kind::Gzip(d) => d.finish(),
            Kind::Zlib(d) => d.try_finish(),
            Kind::RawDeflate(d) => d.try_finish(),
            Kind::Brotli(d) => d.close(),
        };
        self.take(r)
    }

    fn sink(&mut self) -> Option<&mut Sink> {
        match &mut self.kind {
            Kind::Identity => None,
            Kind::DeflateUnknown(s) => Some(s),
            Kind::Gzip(d) => Some(d.sink()),
            Kind::Zlib(d) => Some(d.get_mut()),
            Kind::RawDeflate(d) => Some(d.get_mut()),
            Kind::Brotli(d) => Some(d.get_mut()),
        }
    }

    fn make_room(&mut self, room: u64) {
        if let Some(sink) = self.sink() {
            sink.room = room;
        }
    }

    fn take(&mut self, r: io::Result<()>) -> Result<Bytes, DecodeError> {
        let Some(sink) = self.sink() else {
            return Ok(Bytes::new());
        };
        if sink.over {
            return Err(DecodeError::TooLarge);
        }
        let out = Bytes::from(std::mem::take(&mut sink.buf));
        r.map_err(DecodeError::Corrupt)?;
        Ok(out)
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

    /// A decoder, and the limit of what it may give in all.
    struct Limited(Decoder, u64);

    fn decoder(encoding: &str, limit: u64) -> Limited {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, HeaderValue::from_str(encoding).unwrap());
        Limited(Decoder::for_headers(&h, true), limit)
    }

    fn run(d: &mut Limited, data: &[u8], piece: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let limit = d.1;
        for c in data.chunks(piece) {
            let room = limit - out.len() as u64;
            out.extend_from_slice(&d.0.feed(Bytes::copy_from_slice(c), room)?);
        }
        let room = limit - out.len() as u64;
        out.extend_from_slice(&d.0.finish(room)?);
        Ok(out)
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
        assert!(matches!(e, DecodeError::Corrupt(_)));
        let mut bad = gzip(&a);
        bad.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
        let e = run(&mut decoder("gzip", 1 << 20), &bad, 4).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt(_)));
        // A member with a wrong CRC, followed by another: an error.
        let mut crc = gzip(&a);
        let at = crc.len() - 8;
        crc[at] ^= 0xff;
        crc.extend_from_slice(&gzip(&b));
        let e = run(&mut decoder("gzip", 1 << 20), &crc, 9).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt(_)));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let small = gzip(&zeros);
        assert!(small.len() < 64 << 10);
        let mut d = decoder("gzip", 1 << 20);
        let e = run(&mut d, &small, small.len()).unwrap_err();
        assert!(matches!(e, DecodeError::TooLarge));
    }

    #[test]
    fn the_room_is_per_call() {
        // 4 MiB in all, never more than 1 MiB from one call: fine.
        let small = gzip(&vec![0u8; 4 << 20]);
        let mut d = decoder("gzip", 0).0;
        let mut total = 0;
        for c in small.chunks(64) {
            total += d.feed(Bytes::copy_from_slice(c), 1 << 20).unwrap().len();
        }
        total += d.finish(1 << 20).unwrap().len();
        assert_eq!(total, 4 << 20);
        // All at once, the same room is too small.
        let mut d = decoder("gzip", 0).0;
        let e = d.feed(Bytes::from(small), 1 << 20).unwrap_err();
        assert!(matches!(e, DecodeError::TooLarge));
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        let g = gzip(&b"some text".repeat(50));
        let e = run(&mut decoder("gzip", 1 << 20), &g[..g.len() - 4], 5).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt(_)));
        let e = run(&mut decoder("gzip", 1 << 20), b"definitely not gzip", 5).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt(_)));
        let e = run(&mut decoder("br", 1 << 20), &[0xff; 64], 5).unwrap_err();
        assert!(matches!(e, DecodeError::Corrupt(_)));
    }

    #[test]
    fn empty_and_unknown_bodies() {
        assert!(run(&mut decoder("gzip", 10), b"", 1).unwrap().is_empty());
        let mut d = decoder("zstd", 10);
        assert!(d.0.is_identity());
        assert_eq!(run(&mut d, b"raw", 1).unwrap(), b"raw");
        let d = Decoder::for_headers(&HeaderMap::new(), true);
        assert!(d.is_identity());
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
