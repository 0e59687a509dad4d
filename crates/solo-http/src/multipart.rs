//! `multipart/form-data` request bodies (RFC 7578): [`Form`] and [`Part`],
//! aiohttp's `FormData` and reqwest's `multipart::Form`.
//!
//! Owns: building a form's body in memory (request bodies are [`Bytes`],
//! so a redirect can send it again) and the `Content-Type` that names its
//! boundary. Field names and file names are escaped as browsers escape
//! them (the HTML standard: `"` as `%22`, CR as `%0D`, LF as `%0A`).
//!
//! The boundary is derived from the form's content (FNV-1a, checked
//! against every byte of the body, and derived again with a salt in the
//! unlikely case it occurs), not drawn at random: the same form gives the
//! same bytes, so a crawler's request fingerprint sees two identical
//! uploads as one request.
//!
//! Must not: read files or stream (a part is bytes the caller has), or
//! guess a part's media type from its name.
//!
//! Written here rather than taken from a crate: the crates that build
//! multipart bodies stream them through their own body types and draw
//! random boundaries; what a client needs is this one buffer.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use encoding_rs::{Encoding, UTF_8};
use memchr::memmem;

use crate::error::{Error, ErrorKind};

/// A `multipart/form-data` body: named text fields and files, in order.
///
/// ```
/// use solo_http::multipart::{Form, Part};
///
/// let form = Form::new()
///     .text("title", "Notes")
///     .part("file", Part::bytes(&b"hello"[..]).file_name("notes.txt"));
/// let (content_type, body) = form.encode();
/// let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
/// let body = String::from_utf8(body.to_vec()).unwrap();
/// assert!(body.starts_with(&format!("--{boundary}\r\n")));
/// assert!(body.contains("Content-Disposition: form-data; name=\"title\"\r\n\r\nNotes\r\n"));
/// assert!(body.contains("name=\"file\"; filename=\"notes.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n"));
/// assert!(body.ends_with(&format!("--{boundary}--\r\n")));
/// ```
#[derive(Clone, Default)]
pub struct Form {
    parts: Vec<(String, Part)>,
    /// What names and file names are sent in; `None`: UTF-8.
    names_in: Option<&'static Encoding>,
}

/// One field of a [`Form`]: its bytes, and for a file its name and media
/// type.
///
/// ```
/// use solo_http::multipart::Part;
///
/// let part = Part::bytes(vec![0x89, b'P', b'N', b'G'])
///     .file_name("logo.png")
///     .mime("image/png")
///     .unwrap();
/// assert_eq!(part.file_name_str(), Some("logo.png"));
/// assert!(Part::text("x").mime("text/plain\r\nX-Evil: 1").is_err());
/// ```
#[derive(Clone)]
pub struct Part {
    data: Bytes,
    file_name: Option<String>,
    mime: Option<String>,
}

impl Part {
    /// A text field's value.
    pub fn text(value: impl Into<String>) -> Part {
        Part::bytes(value.into())
    }

    /// A part with these bytes (a file's contents, with
    /// [`file_name`](Part::file_name)).
    pub fn bytes(data: impl Into<Bytes>) -> Part {
        Part {
            data: data.into(),
            file_name: None,
            mime: None,
        }
    }

    /// Sends the part as a file of this name (`filename=`); its media type
    /// is `application/octet-stream` unless [`mime`](Part::mime) says
    /// otherwise. An empty name is an empty file input, as browsers send
    /// one.
    pub fn file_name(mut self, name: impl Into<String>) -> Part {
        self.file_name = Some(name.into());
        self
    }

    /// The part's `Content-Type`. An error (kind
    /// [`Body`](ErrorKind::Body)) unless it reads as `type/subtype` with
    /// optional parameters and no control characters.
    pub fn mime(mut self, mime: &str) -> Result<Part, Error> {
        let (kind, sub) = mime.split_once('/').unwrap_or(("", ""));
        let sub = sub.split(';').next().unwrap_or("");
        let token = |s: &str| {
            !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_graphic() && b != b'/')
        };
        if !token(kind) || !token(sub) || mime.bytes().any(|b| b.is_ascii_control()) {
            return Err(Error::new(
                ErrorKind::Body,
                format!("{mime:?} is not a media type (type/subtype, e.g. \"image/png\")"),
            ));
        }
        self.mime = Some(mime.to_string());
        Ok(self)
    }

    /// The file name, if the part is a file.
    pub fn file_name_str(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The part's bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    fn media_type(&self) -> Option<&str> {
        match (&self.mime, &self.file_name) {
            (Some(m), _) => Some(m),
            (None, Some(_)) => Some("application/octet-stream"),
            (None, None) => None,
        }
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("bytes", &self.data.len())
            .field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .finish()
    }
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.parts.iter().map(|(n, p)| (n, p)))
            .finish()
    }
}

impl Form {
    /// An empty form.
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds a text field (a name may repeat, as with several checkboxes).
    pub fn text(self, name: impl Into<String>, value: impl Into<String>) -> Form {
        self.part(name, Part::text(value))
    }

    /// Adds a part.
    pub fn part(mut self, name: impl Into<String>, part: Part) -> Form {
        self.parts.push((name.into(), part));
        self
    }

    /// Sends field names and file names in `encoding` (UTF-8 unless this
    /// is called), as a browser sends those of a form on a page in a
    /// legacy charset (the HTML standard: the form's encoding; a
    /// character it lacks as `&#N;`). Values are the parts' bytes as
    /// given.
    ///
    /// ```
    /// use solo_http::multipart::{Form, Part};
    ///
    /// let form = Form::new()
    ///     .part("Caf\u{e9}", Part::bytes(&b"1"[..]).file_name("r\u{e9}sum\u{e9}.txt"))
    ///     .names_in(encoding_rs::WINDOWS_1252);
    /// let body = form.encode().1;
    /// let want = &b"name=\"Caf\xe9\"; filename=\"r\xe9sum\xe9.txt\""[..];
    /// assert!(body.windows(want.len()).any(|w| w == want));
    /// ```
    pub fn names_in(mut self, encoding: &'static Encoding) -> Form {
        self.names_in = Some(encoding);
        self
    }

    /// The fields, in order.
    pub fn parts(&self) -> impl Iterator<Item = (&str, &Part)> {
        self.parts.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// The body and its `Content-Type` (`multipart/form-data;
    /// boundary=...`).
    pub fn encode(&self) -> (String, Bytes) {
        let mut salt = 0u64;
        loop {
            let boundary = self.boundary(salt);
            let body = self.body(&boundary);
            if self.boundary_is_free(&body, &boundary) {
                return (format!("multipart/form-data; boundary={boundary}"), body);
            }
            salt += 1;
        }
    }

    /// A candidate boundary: 16 hex digits of FNV-1a over the content.
    fn boundary(&self, salt: u64) -> String {
        let mut h = Fnv::new();
        h.write(&salt.to_le_bytes());
        for (name, part) in &self.parts {
            let file = part.file_name.as_deref().map(|f| self.name_bytes(f));
            for field in [&self.name_bytes(name)[..], &part.data[..]]
                .into_iter()
                .chain(file.as_deref())
                .chain(part.mime.as_deref().map(str::as_bytes))
            {
                h.write(&(field.len() as u64).to_le_bytes());
                h.write(field);
            }
        }
        format!("solo-form-{:016x}", h.0)
    }

    /// The boundary's delimiter occurs only where this form put it.
    fn boundary_is_free(&self, body: &[u8], boundary: &str) -> bool {
        let delimiter = format!("--{boundary}");
        memmem::find_iter(body, delimiter.as_bytes()).count() == self.parts.len() + 1
    }

    /// A name or file name in the form's encoding.
    fn name_bytes<'a>(&self, name: &'a str) -> std::borrow::Cow<'a, [u8]> {
        self.names_in.unwrap_or(UTF_8).encode(name).0
    }

    fn body(&self, boundary: &str) -> Bytes {
        let size: usize = self
            .parts
            .iter()
            .map(|(n, p)| n.len() + p.data.len() + boundary.len() + 160)
            .sum();
        let mut b = BytesMut::with_capacity(size + boundary.len() + 8);
        for (name, part) in &self.parts {
            b.put_slice(b"--");
            b.put_slice(boundary.as_bytes());
            b.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
            put_escaped(&mut b, &self.name_bytes(name));
            b.put_u8(b'"');
            if let Some(file) = &part.file_name {
                b.put_slice(b"; filename=\"");
                put_escaped(&mut b, &self.name_bytes(file));
                b.put_u8(b'"');
            }
            if let Some(mime) = part.media_type() {
                b.put_slice(b"\r\nContent-Type: ");
                b.put_slice(mime.as_bytes());
            }
            b.put_slice(b"\r\n\r\n");
            b.put_slice(&part.data);
            b.put_slice(b"\r\n");
        }
        b.put_slice(b"--");
        b.put_slice(boundary.as_bytes());
        b.put_slice(b"--\r\n");
        b.freeze()
    }
}

/// A name inside `"..."`, escaped as the HTML standard's multipart
/// encoding does.
fn put_escaped(b: &mut BytesMut, s: &[u8]) {
    for &c in s {
        match c {
            b'"' => b.put_slice(b"%22"),
            b'\r' => b.put_slice(b"%0D"),
            b'\n' => b.put_slice(b"%0A"),
            c => b.put_u8(c),
        }
    }
}

/// FNV-1a, 64 bits: stable across builds, unlike std's hasher.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_as_browsers_do() {
        let form = Form::new().part(
            "a\"b\r\nc",
            Part::text("v")
                .file_name("x\".txt")
                .mime("text/plain; charset=utf-8")
                .unwrap(),
        );
        let (_, body) = form.encode();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("name=\"a%22b%0D%0Ac\"; filename=\"x%22.txt\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nv\r\n"),
            "{body}"
        );
    }

    #[test]
    fn the_same_form_gives_the_same_bytes_and_another_form_another_boundary() {
        let a = || Form::new().text("q", "solo").text("q", "crawl");
        assert_eq!(a().encode(), a().encode());
        let b = Form::new().text("q", "solo");
        assert_ne!(a().encode().0, b.encode().0);
    }

    #[test]
    fn a_boundary_found_in_the_content_is_not_used() {
        // A body built with a boundary that a value holds is refused...
        let form = Form::new().text("x", "a--taken-boundary\r\nb");
        assert!(!form.boundary_is_free(&form.body("taken-boundary"), "taken-boundary"));
        assert!(form.boundary_is_free(&form.body("other"), "other"));
        // ...so whatever values hold, the delimiter occurs only where the
        // form put it, and salts give other candidates.
        let tricky = format!("--{}\r\n--solo-form-", form.boundary(0));
        let form = Form::new().text("x", tricky).text("y", "--");
        let (ct, body) = form.encode();
        let delim = format!("--{}", ct.rsplit('=').next().unwrap());
        assert_eq!(memmem::find_iter(&body, delim.as_bytes()).count(), 3);
        assert_ne!(form.boundary(0), form.boundary(1));
    }

    #[test]
    fn bad_media_types_are_refused() {
        for bad in ["", "image", "/png", "image/", "a/b\r\nX: 1", "a b/c"] {
            assert!(Part::text("x").mime(bad).is_err(), "{bad:?}");
        }
        assert!(Part::text("x").mime("application/vnd.api+json").is_ok());
    }
}
