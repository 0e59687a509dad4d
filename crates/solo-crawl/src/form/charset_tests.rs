//! Forms of pages in a legacy charset, and `<base href>`s a form must
//! not use: sent as a browser (and Scrapy) sends them.

use super::*;

/// A page of these bytes, with this `Content-Type`.
fn page_in(content_type: &str, bytes: &[u8]) -> Response {
    Response::new(
        Url::parse("http://h.test/f").unwrap(),
        200,
        vec![("content-type".into(), content_type.into())],
        Bytes::copy_from_slice(bytes),
    )
}

#[test]
fn a_form_on_a_latin1_page_is_sent_in_latin1() {
    let p = page_in(
        "text/html; charset=ISO-8859-1",
        b"<form method=post action=/s><input name=city value=\"M\xfcnchen\"></form>",
    );
    let r = FormRequest::from_response(&p)
        .formdata([("q", "caf\u{e9}"), ("snow", "\u{2603}")])
        .request(())
        .unwrap();
    // Not UTF-8 (city=M%C3%BCnchen); what latin-1 has not: a reference.
    assert_eq!(
        r.extras().body,
        "city=M%FCnchen&q=caf%E9&snow=%26%239731%3B"
    );
    // The same form as a GET: its query.
    let p = page_in(
        "text/html; charset=ISO-8859-1",
        b"<form action=/s><input name=city value=\"M\xfcnchen\"></form>",
    );
    let r = FormRequest::from_response(&p).request(()).unwrap();
    assert_eq!(r.url.as_str(), "http://h.test/s?city=M%FCnchen");
}

#[test]
fn a_shift_jis_page_sends_shift_jis_and_accept_charset_wins() {
    // Shift_JIS named in a <meta>, no header charset.
    let mut html = b"<meta charset=shift_jis><form action=/find><input name=q value=\"".to_vec();
    html.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("\u{65e5}\u{672c}").0);
    html.extend_from_slice(
        b"\"></form><form id=u accept-charset=\"bogus utf-8\" action=/u><input name=q value=\"",
    );
    html.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("\u{65e5}").0);
    html.extend_from_slice(b"\"></form>");
    let p = page_in("text/html", &html);
    let r = FormRequest::from_response(&p).request(()).unwrap();
    assert_eq!(r.url.as_str(), "http://h.test/find?q=%93%FA%96%7B");
    let r = FormRequest::from_response(&p)
        .form_id("u")
        .request(())
        .unwrap();
    assert_eq!(r.url.as_str(), "http://h.test/u?q=%E6%97%A5");
}

#[test]
fn multipart_and_text_plain_values_are_in_the_page_s_charset() {
    let p = page_in(
        "text/html; charset=windows-1252",
        b"<form method=post action=/up enctype=multipart/form-data><input name=city value=\"M\xfcnchen\"></form>\
          <form method=post action=/t enctype=text/plain><input name=city value=\"M\xfcnchen\"></form>",
    );
    let r = FormRequest::from_response(&p).request(()).unwrap();
    let body = &r.extras().body;
    let want = b"\r\n\r\nM\xfcnchen\r\n--";
    assert!(body.windows(want.len()).any(|w| w == want), "{body:?}");
    let r = FormRequest::from_response(&p)
        .form_number(1)
        .request(())
        .unwrap();
    assert_eq!(r.extras().body, &b"city=M\xfcnchen\r\n"[..]);
}

/// Whether `body` holds `want`.
fn holds(body: &[u8], want: &[u8]) -> bool {
    body.windows(want.len()).any(|w| w == want)
}

#[test]
fn multipart_names_and_file_names_are_in_the_page_s_charset_too() {
    let p = page_in(
        "text/html; charset=ISO-8859-1",
        b"<form method=post action=/up enctype=multipart/form-data>\
          <input name=\"Caf\xe9\" value=\"cr\xe8me\"><input type=file name=\"pi\xe8ce\"></form>",
    );
    let file = Part::bytes(&b"x"[..]).file_name("r\u{e9}sum\u{e9}.txt");
    let r = FormRequest::from_response(&p)
        .file("pi\u{e8}ce", file)
        .request(())
        .unwrap();
    let body = &r.extras().body;
    // Were Caf\xc3\xa9 and r\xc3\xa9sum\xc3\xa9 (UTF-8) beside a latin-1 value.
    assert!(
        holds(body, b"name=\"Caf\xe9\"\r\n\r\ncr\xe8me\r\n"),
        "{body:?}"
    );
    assert!(
        holds(body, b"name=\"pi\xe8ce\"; filename=\"r\xe9sum\xe9.txt\""),
        "{body:?}"
    );
}

#[test]
fn a_hidden_charset_field_sends_the_form_s_encoding() {
    let p = page_in(
        "text/html; charset=ISO-8859-1",
        b"<form action=/s><input type=hidden name=_charset_><input type=hidden name=_CHARSET_ value=x>\
          <input name=_charset_ value=typed></form>\
          <form action=/u accept-charset=utf-8><input type=hidden name=_charset_ value=old></form>",
    );
    let r = FormRequest::from_response(&p).request(()).unwrap();
    // Was _charset_=&_CHARSET_=x.
    assert_eq!(
        r.url.as_str(),
        "http://h.test/s?_charset_=windows-1252&_CHARSET_=windows-1252&_charset_=typed"
    );
    let r = FormRequest::from_response(&p)
        .form_number(1)
        .request(())
        .unwrap();
    assert_eq!(r.url.as_str(), "http://h.test/u?_charset_=UTF-8");
}

#[test]
fn accept_charset_labels_apart_by_commas_are_read() {
    for labels in ["utf-8, iso-8859-1", "utf-8,iso-8859-1", "bogus,UTF-8"] {
        let html = format!(
            "<form accept-charset=\"{labels}\" action=/s><input name=q value=\"caf\u{e9}\"></form>"
        );
        let p = page_in(
            "text/html; charset=ISO-8859-1",
            &encoding_rs::WINDOWS_1252.encode(&html).0,
        );
        let r = FormRequest::from_response(&p).request(()).unwrap();
        // Was caf%E9, the page's charset.
        assert_eq!(r.url.as_str(), "http://h.test/s?q=caf%C3%A9", "{labels}");
    }
}

#[test]
fn a_base_href_that_is_not_http_is_ignored_as_links_do() {
    for base in ["javascript:void(0)", "data:text/html,x", "mailto:a@b.test"] {
        let html = format!(r#"<base href="{base}"><form method=post action=/s></form>"#);
        let p = page_in("text/html", html.as_bytes());
        let r = FormRequest::from_response(&p).request(()).unwrap();
        assert_eq!(r.url.as_str(), "http://h.test/s", "{base}");
        assert_eq!(p.follow("/s", ()).unwrap().url, r.url);
    }
}
