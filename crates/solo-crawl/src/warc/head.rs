//! The text of a WARC record's header: its named fields, written
//! straight into the record's buffer.
//!
//! Owns: [`Head`] (the `WARC/1.1` line, `name: value` fields, the SHA-1
//! digests in base32, `Content-Length` and the empty line), record IDs
//! ([`RecordId`]) and `WARC-Date` values ([`Dates`]). Must not: decide
//! which records or fields an exchange gets (that is the writer's, in
//! `warc`), or do any I/O.
//!
//! Cost: the writer thread writes two records per page, so this is per
//! record work: no `format!` or `write!` machinery and no allocation
//! (the buffer is the writer's, reused). IDs are formatted on the stack,
//! and a date is worked out once per second of fetch times (consecutive
//! exchanges share it). This took ~18,000 instructions per page off the
//! writer thread (callgrind, bench/notes.md).

use std::time::{SystemTime, UNIX_EPOCH};

/// A record's header being written into a reused buffer.
pub(super) struct Head(Vec<u8>);

impl Head {
    /// Starts a record in `buf` (cleared): the version line.
    pub(super) fn start(mut buf: Vec<u8>) -> Head {
        buf.clear();
        buf.extend_from_slice(b"WARC/1.1\r\n");
        Head(buf)
    }

    /// `name: value`.
    pub(super) fn field(&mut self, name: &str, value: &str) {
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b": ");
        self.0.extend_from_slice(value.as_bytes());
        self.0.extend_from_slice(b"\r\n");
    }

    /// `name: sha1:BASE32` of a SHA-1 digest.
    pub(super) fn digest(&mut self, name: &str, digest: &[u8; 20]) {
        let mut text = [0u8; 37];
        text[..5].copy_from_slice(b"sha1:");
        data_encoding::BASE32.encode_mut(digest, &mut text[5..]);
        self.field(name, ascii(&text));
    }

    /// `Content-Length` and the empty line that ends the header: the
    /// buffer, for the block to follow.
    pub(super) fn end(mut self, content_length: usize) -> Vec<u8> {
        let mut n = itoa::Buffer::new();
        self.field("Content-Length", n.format(content_length));
        self.0.extend_from_slice(b"\r\n");
        self.0
    }
}

/// `<urn:uuid:...>`, a random (v4) UUID.
pub(super) struct RecordId([u8; 47]);

impl RecordId {
    pub(super) fn new() -> RecordId {
        let mut id = [0u8; 47];
        id[..10].copy_from_slice(b"<urn:uuid:");
        uuid::Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut id[10..46]);
        id[46] = b'>';
        RecordId(id)
    }

    pub(super) fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

/// A `WARC-Date` value: `2026-11-30T18:55:00Z` (UTC, to the second).
#[derive(Clone, Copy)]
pub(super) struct WarcDate([u8; 20]);

impl WarcDate {
    pub(super) fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

/// `WARC-Date` values, the last one kept: fetches a writer batch holds
/// mostly started within the same second.
#[derive(Default)]
pub(super) struct Dates {
    last: Option<(u64, WarcDate)>,
}

impl Dates {
    pub(super) fn of(&mut self, t: SystemTime) -> WarcDate {
        let Ok(secs) = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()) else {
            return warc_date(t);
        };
        match self.last {
            Some((s, d)) if s == secs => d,
            _ => {
                let d = warc_date(t);
                self.last = Some((secs, d));
                d
            }
        }
    }
}

/// The date of `t`, worked out.
pub(super) fn warc_date(t: SystemTime) -> WarcDate {
    let t = time::OffsetDateTime::from(t);
    let mut d = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            d[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    // Years outside 0..=9999 have no four-digit form: clamped.
    put(0, 4, t.year().clamp(0, 9999) as u32);
    put(5, 2, u8::from(t.month()).into());
    put(8, 2, t.day().into());
    put(11, 2, t.hour().into());
    put(14, 2, t.minute().into());
    put(17, 2, t.second().into());
    WarcDate(d)
}

/// The text of bytes this module wrote (always ASCII).
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_header_reads_as_the_standard_writes_it() {
        let mut h = Head::start(b"left over".to_vec());
        h.field("WARC-Type", "request");
        h.digest("WARC-Block-Digest", &[0; 20]);
        let text = h.end(12);
        assert_eq!(
            text,
            b"WARC/1.1\r\nWARC-Type: request\r\n\
              WARC-Block-Digest: sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\
              Content-Length: 12\r\n\r\n"
        );
        let id = RecordId::new();
        let id = id.as_str();
        assert!(id.starts_with("<urn:uuid:") && id.ends_with('>'), "{id}");
        assert_eq!(
            uuid::Uuid::parse_str(&id[10..46])
                .unwrap()
                .get_version_num(),
            4
        );
    }

    #[test]
    fn dates_are_utc_to_the_second_and_the_cache_follows_the_clock() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_000_100);
        assert_eq!(warc_date(UNIX_EPOCH).as_str(), "1970-01-01T00:00:00Z");
        let mut dates = Dates::default();
        assert_eq!(dates.of(t).as_str(), "2026-11-30T00:55:00Z");
        let later = t + Duration::from_millis(999);
        assert_eq!(dates.of(later).as_str(), "2026-11-30T00:55:00Z");
        let next = t + Duration::from_secs(61);
        assert_eq!(dates.of(next).as_str(), "2026-11-30T00:56:01Z");
        assert_eq!(dates.of(t).as_str(), "2026-11-30T00:55:00Z");
    }
}
