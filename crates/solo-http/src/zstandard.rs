//! A zstd body (`Content-Encoding: zstd`, RFC 8878 and RFC 9659).
//!
//! Owns: [`Zstd`], the push-style decoder behind `Content-Encoding:
//! zstd`. Must not: panic on any input, give more than a piece
//! (`decode::PIECE`) from one call, or let a frame make it reserve more
//! than [`MAX_WINDOW_LOG`] allows.
//!
//! Design: the decoder is libzstd's streaming one (`ZSTD_decompressStream`)
//! through the `zstd` crate, chosen over the pure-Rust `ruzstd` because
//! it is push-style and bounded on both sides, as `decode` needs: it stops
//! when the output buffer (one piece) is full and keeps the input it has
//! not used; it takes a frame header or a block split across network
//! chunks, several frames one after another and skippable frames, and
//! checks the frames' checksums. `ruzstd`'s `decode_from_to` decodes
//! every complete block of its input before handing any out (a few KiB of
//! RLE blocks are gigabytes held in memory) and leaves checksums to the
//! caller. libzstd is C, fuzzed continuously by OSS-Fuzz, and the crate
//! reqwest uses for zstd; this crate's own code stays without `unsafe`.
//! The crate's `legacy` formats (zstd before 1.0) are left out.
//!
//! Memory: a zstd frame says how large a window its decoder must keep;
//! RFC 9659 limits it to 8 MiB for this content coding (encoders must
//! not use more, decoders may refuse more), as browsers do, so a frame
//! asking for more is refused as corrupt instead of making each response
//! hold up to libzstd's default of 128 MiB. Bytes after the last frame
//! that do not start another are an error (a gzip body's junk tail is
//! forgiven because real servers send one; none is known for zstd).

use std::io;

use bytes::{Buf, Bytes};
use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

use crate::decode::{Corrupt, PIECE};

/// The largest window a frame may ask for: 2^23 bytes, 8 MiB (RFC 9659).
pub(crate) const MAX_WINDOW_LOG: u32 = 23;

/// One zstd body: one frame or several, decoded a piece at a time.
pub(crate) struct Zstd {
    /// Made at the first byte (a response without a body needs none).
    decoder: Option<Decoder<'static>>,
    /// The last call filled its piece: libzstd may hold more output.
    pub(crate) more_output: bool,
    /// A frame has started and is not complete (libzstd's hint).
    in_frame: bool,
}

impl Zstd {
    pub(crate) fn new() -> Zstd {
        Zstd {
            decoder: None,
            more_output: false,
            in_frame: false,
        }
    }

    /// One piece from the front of `data`, taking the bytes it used.
    pub(crate) fn decode(&mut self, data: &mut Bytes) -> Result<Bytes, Corrupt> {
        let decoder = match &mut self.decoder {
            Some(d) => d,
            None => self.decoder.insert(new_decoder().map_err(Corrupt)?),
        };
        let mut out = vec![0u8; PIECE];
        let mut input = InBuffer::around(&data[..]);
        let mut output = OutBuffer::around(&mut out[..]);
        loop {
            let before = (input.pos(), output.pos());
            let hint = decoder.run(&mut input, &mut output).map_err(Corrupt)?;
            let moved = (input.pos(), output.pos()) != before;
            if moved {
                // A call that does nothing after the end of a frame
                // hints at the next frame's header: not a frame begun.
                self.in_frame = hint != 0;
            }
            if output.pos() == PIECE || input.pos() == data.len() {
                break;
            }
            if !moved {
                // libzstd takes all input it is given while it has room
                // for output: not expected, but never loop on it.
                return Err(Corrupt(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the zstd decoder stopped taking input",
                )));
            }
        }
        let (used, given) = (input.pos(), output.pos());
        self.more_output = given == PIECE;
        data.advance(used);
        out.truncate(given);
        Ok(Bytes::from(out))
    }

    /// The end of the input: what is left, piece by piece, and whether
    /// that was the last; an error if a frame was cut short.
    pub(crate) fn finish(&mut self) -> Result<(Bytes, bool), Corrupt> {
        let piece = match self.more_output {
            true => self.decode(&mut Bytes::new())?,
            false => Bytes::new(),
        };
        if self.more_output {
            return Ok((piece, false));
        }
        if self.in_frame {
            return Err(Corrupt(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the zstd stream was cut short",
            )));
        }
        Ok((piece, true))
    }
}

/// libzstd's streaming decoder, its window capped.
fn new_decoder() -> io::Result<Decoder<'static>> {
    let mut d = Decoder::new()?;
    d.set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `body` fed in pieces of `piece` bytes; every call's output
    /// is at most a piece.
    fn decode_all(body: &[u8], piece: usize) -> Result<Vec<u8>, Corrupt> {
        let mut z = Zstd::new();
        let mut out = Vec::new();
        for c in body.chunks(piece) {
            let mut c = Bytes::copy_from_slice(c);
            while !c.is_empty() || z.more_output {
                let got = z.decode(&mut c)?;
                assert!(got.len() <= PIECE);
                out.extend_from_slice(&got);
            }
        }
        loop {
            let (got, last) = z.finish()?;
            out.extend_from_slice(&got);
            if last {
                return Ok(out);
            }
        }
    }

    fn compress(data: &[u8], window_log: u32) -> Vec<u8> {
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.set_parameter(zstd::stream::raw::CParameter::WindowLog(window_log))
            .unwrap();
        e.include_checksum(true).unwrap();
        std::io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn frames_one_after_another_and_skippable_ones_decode() {
        let (a, b) = (b"first frame ".repeat(1000), b"second frame".repeat(50));
        let mut body = zstd::bulk::compress(&a, 3).unwrap();
        // A skippable frame (magic 0x184D2A50, then a length), then
        // another frame.
        body.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        body.extend_from_slice(&zstd::bulk::compress(&b, 19).unwrap());
        for piece in [1, 2, 7, 100, body.len()] {
            assert!(decode_all(&body, piece).unwrap() == [&a[..], &b[..]].concat());
        }
        assert!(decode_all(b"", 1).unwrap().is_empty());
        // Output that ends exactly at the end of a piece.
        let exact = vec![7u8; 2 * PIECE];
        let body = zstd::bulk::compress(&exact, 3).unwrap();
        assert!(decode_all(&body, 3).unwrap() == exact);
    }

    #[test]
    fn cut_corrupt_and_trailing_junk_fail() {
        let text = b"some text to compress, some text".repeat(100);
        let body = compress(&text, 20);
        for cut in [1, 5, body.len() / 2, body.len() - 1] {
            assert!(decode_all(&body[..cut], 3).is_err(), "cut at {cut}");
        }
        // A wrong checksum (the last 4 bytes).
        let mut bad = body.clone();
        *bad.last_mut().unwrap() ^= 0xff;
        assert!(decode_all(&bad, 9).is_err());
        let mut junk = body.clone();
        junk.extend_from_slice(b"junk");
        assert!(decode_all(&junk, 9).is_err());
        assert!(decode_all(b"not zstd at all", 4).is_err());
    }

    /// 8 MiB windows decode; a frame asking for 16 MiB is refused before
    /// anything is reserved for it.
    #[test]
    fn windows_over_8_mib_are_refused() {
        let data: Vec<u8> = (0..9u32 << 20).map(|i| (i % 251) as u8).collect();
        let ok = compress(&data, MAX_WINDOW_LOG);
        assert!(decode_all(&ok, 1 << 16).unwrap() == data);
        let big = compress(&data, MAX_WINDOW_LOG + 1);
        let Corrupt(e) = decode_all(&big, 1 << 16).unwrap_err();
        assert!(e.to_string().contains("memory"), "{e}");
    }
}
