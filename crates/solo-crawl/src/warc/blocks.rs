//! What a record's block holds of an exchange's heads.
//!
//! Owns: the response head as received with `Transfer-Encoding` renamed
//! (the body is stored de-chunked), the request head with credentials
//! masked unless kept, and what a head says (a conditional request,
//! validators). Must not: compose records (the writer does).

use std::borrow::Cow;

/// The head to archive: a `Transfer-Encoding` line renamed (the body is
/// stored de-chunked), everything else as received (borrowed when there
/// is no such line, as with a `Content-Length`).
pub(super) fn archived_head(head: &[u8]) -> Cow<'_, [u8]> {
    let te =
        |line: &[u8]| line.len() > 18 && line[..18].eq_ignore_ascii_case(b"transfer-encoding:");
    if !head.split_inclusive(|&b| b == b'\n').any(te) {
        return Cow::Borrowed(head);
    }
    let mut out = Vec::with_capacity(head.len() + 16);
    for line in head.split_inclusive(|&b| b == b'\n') {
        if te(line) {
            out.extend_from_slice(b"X-Archive-Orig-");
        }
        out.extend_from_slice(line);
    }
    Cow::Owned(out)
}

/// The request to archive: as sent, but for the values of the headers
/// that carry credentials (unless `keep_secrets`): `Authorization` and
/// `Proxy-Authorization` keep their scheme (`Basic ***`), `Cookie` becomes
/// `***`. Borrowed when there is none.
pub(super) fn archived_request(req: &[u8], keep_secrets: bool) -> Cow<'_, [u8]> {
    let head_len = memchr::memmem::find(req, b"\r\n\r\n").map_or(req.len(), |i| i + 4);
    let (head, body) = req.split_at(head_len);
    // The length of a credential header's name and colon.
    let secret = |line: &[u8]| {
        let colon = memchr::memchr(b':', line)?;
        let name = std::str::from_utf8(&line[..colon]).ok()?;
        crate::secrets::is_credential(name).then_some(colon + 1)
    };
    let lines = || head.split_inclusive(|&b| b == b'\n');
    if keep_secrets || !lines().any(|l| secret(l).is_some()) {
        return Cow::Borrowed(req);
    }
    let mut out = Vec::with_capacity(req.len());
    for line in lines() {
        let Some(n) = secret(line) else {
            out.extend_from_slice(line);
            continue;
        };
        out.extend_from_slice(&line[..n]);
        let name = String::from_utf8_lossy(&line[..n - 1]);
        let value = String::from_utf8_lossy(&line[n..]);
        out.push(b' ');
        out.extend_from_slice(crate::secrets::masked_value(&name, &value).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(body);
    Cow::Owned(out)
}

/// Whether a request (its head) asked "changed since?": an
/// `If-None-Match` or `If-Modified-Since` header.
pub(super) fn is_conditional(request: &[u8]) -> bool {
    let head_len = memchr::memmem::find(request, b"\r\n\r\n").unwrap_or(request.len());
    request[..head_len]
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| line.split(|&b| b == b':').next())
        .any(|name| {
            let name = name.trim_ascii();
            name.eq_ignore_ascii_case(b"if-none-match")
                || name.eq_ignore_ascii_case(b"if-modified-since")
        })
}

/// Whether a response head has an `ETag` or `Last-Modified` (a recrawl
/// may ask with them and get a `304`).
pub(super) fn has_validators(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n').any(|line| {
        let name = |n: &[u8]| line.len() > n.len() && line[..n.len()].eq_ignore_ascii_case(n);
        name(b"etag:") || name(b"last-modified:")
    })
}

/// A header value on one line (no CR, LF or other control characters).
pub(super) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
