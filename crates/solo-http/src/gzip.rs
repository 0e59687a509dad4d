//! A gzip body: one member or several, and whatever follows the last.
//!
//! Owns: [`Gzip`], the push-style decoder behind `Content-Encoding: gzip`.
//! Must not: panic on any input, or give much more than a piece
//! (`decode::PIECE`) from one call.
//!
//! Design: a gzip file is a series of members (RFC 1952 section 2.2), and
//! its content is theirs one after another (what `gzip -d` and Python's
//! `gzip.decompress` give). `flate2`'s write decoder takes one member;
//! when it takes no more input its member is complete (its CRC and size
//! are checked then), and the next bytes say what follows: the gzip
//! magic number starts another member; anything else (zero padding,
//! junk some servers append) is ignored, as curl and browsers do, and the
//! body is what the members gave. A member that starts but is corrupt or
//! cut short is an error.

use std::io::{self, Write};

use flate2::write::GzDecoder;

use crate::decode::Sink;

/// The two bytes that start every gzip member.
const MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(crate) struct Gzip {
    member: GzDecoder<Sink>,
    /// The current member is complete; `next` holds the first bytes after
    /// it (fewer than two).
    between: bool,
    next: Vec<u8>,
    /// Bytes that are not a member came after one: the rest is ignored.
    ignoring: bool,
    /// A member failed: every later call fails too (the decoder must not
    /// be written to again).
    broken: bool,
}

impl Gzip {
    pub(crate) fn new(sink: Sink) -> Gzip {
        Gzip {
            member: GzDecoder::new(sink),
            between: false,
            next: Vec::new(),
            ignoring: false,
            broken: false,
        }
    }

    pub(crate) fn sink(&mut self) -> &mut Sink {
        self.member.get_mut()
    }

    /// Decodes from the front of `data` into the sink, until the sink
    /// holds a piece (see `decode::PIECE`) or `data` is used up; how much
    /// of `data` was used.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.broken {
            return Err(broken());
        }
        let r = self.decode(data);
        self.broken = r.is_err();
        r
    }

    fn decode(&mut self, all: &[u8]) -> io::Result<usize> {
        let mut data = all;
        while !data.is_empty() && !self.ignoring && !self.member.get_ref().full() {
            if self.between {
                let take = (MAGIC.len() - self.next.len()).min(data.len());
                self.next.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.next.len() < MAGIC.len() {
                    break;
                }
                if self.next != MAGIC {
                    self.ignoring = true;
                    break;
                }
                // Another member: a new decoder, writing on into the sink.
                let sink = std::mem::replace(self.member.get_mut(), Sink::new());
                self.member = GzDecoder::new(sink);
                self.between = false;
                self.member.write_all(&MAGIC)?;
                self.next.clear();
                continue;
            }
            match self.member.write(data)? {
                0 => {
                    // The member takes nothing more: it is complete, or
                    // this says why not.
                    self.member.try_finish()?;
                    self.between = true;
                }
                n => data = &data[n..],
            }
        }
        if self.ignoring {
            // The rest is not a member: all of it is used.
            return Ok(all.len());
        }
        Ok(all.len() - data.len())
    }

    /// The end of the body: fails if a member was cut short.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(broken());
        }
        if self.between || self.ignoring {
            return Ok(());
        }
        let r = self.member.try_finish();
        // Either way the member takes no more input.
        self.between = r.is_ok();
        self.broken = r.is_err();
        r
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "corrupt gzip data")
}
