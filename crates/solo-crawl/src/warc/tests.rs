use std::borrow::Cow;

use super::*;

#[test]
fn two_writers_of_one_name_never_share_a_file() {
    let dir = std::env::temp_dir().join(format!("solo-warc-create-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = WarcOutput::new(dir.join("w.warc.gz"));
    // Both saw number 0 free (two workers starting together): the
    // second goes on at the next free number.
    let (_, a, na) = create(&cfg, 0).unwrap();
    let (_, b, nb) = create(&cfg, 0).unwrap();
    assert_eq!((na, nb), (0, 1));
    assert_ne!(a, b);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn transfer_encoding_is_renamed_and_the_rest_kept() {
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A:  b\r\n\r\n";
    assert_eq!(
        &*archived_head(head),
        b"HTTP/1.1 200 OK\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\nX-A:  b\r\n\r\n"
    );
}

/// The records of one exchange written at `level`: the file's bytes.
fn written_at(dir: &Path, level: u8) -> io::Result<Vec<u8>> {
    let mut cfg = WarcOutput::new(dir.join(format!("l{level}.warc.gz")));
    cfg.gzip_level = level;
    let mut w = WarcWriter::open(&cfg, 0)?;
    let c = page(
        "<p>the same words again and again</p>\n"
            .repeat(200)
            .into_bytes(),
    );
    w.exchange("http://a.test/".into(), &c, None)?;
    w.flush()?;
    std::fs::read(cfg.file_name(0))
}

/// A capture of `url` answered 200 with `body`.
fn page(body: Vec<u8>) -> Capture {
    Capture {
        date: SystemTime::UNIX_EPOCH,
        peer: None,
        request: Bytes::from_static(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
        status: 200,
        response_head: Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"),
        body: Bytes::from(body),
        http2: false,
        truncated: None,
    }
}

/// The `WARC-Type`s of a plain file's records, in order.
fn types(file: &Path) -> Vec<String> {
    let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
    text.lines()
        .filter_map(|l| l.strip_prefix("WARC-Type: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn rotation_never_puts_a_request_and_its_response_in_two_files() {
    let dir = std::env::temp_dir().join(format!("solo-warc-rotate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = WarcOutput::new(dir.join("r.warc"));
    // Room for the warcinfo and one exchange's request, not its
    // response too.
    cfg.max_size = 1500;
    let mut w = WarcWriter::open(&cfg, 0).unwrap();
    for i in 0..5 {
        let c = page(vec![b'x'; 400 + i]);
        w.exchange(format!("http://a.test/{i}"), &c, None).unwrap();
    }
    w.flush().unwrap();
    let mut exchanges = 0;
    for n in 0..w.number + 1 {
        let kinds = types(&cfg.file_name(n));
        assert_eq!(kinds[0], "warcinfo", "{n}: {kinds:?}");
        for pair in kinds[1..].chunks(2) {
            assert_eq!(pair, ["request", "response"], "file {n}: {kinds:?}");
            exchanges += 1;
        }
    }
    assert_eq!(exchanges, 5);
    assert!(w.number >= 2, "it did roll over: {}", w.number);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_large_body_does_not_keep_its_memory_in_the_writer() {
    let dir = std::env::temp_dir().join(format!("solo-warc-shrink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["s.warc.gz", "s.warc"] {
        let mut w = WarcWriter::open(&WarcOutput::new(dir.join(name)), 0).unwrap();
        // Not compressible: the gzip member is as large as the body.
        let mut x = 1u32;
        let big: Vec<u8> = (0..24 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        w.exchange("http://a.test/big".into(), &page(big), None)
            .unwrap();
        w.exchange("http://a.test/small".into(), &page(b"small".to_vec()), None)
            .unwrap();
        w.flush().unwrap();
        let kept =
            w.text.capacity() + w.packed.capacity() + w.held.capacity() + w.pending.capacity();
        assert!(
            kept < 8 << 20,
            "{name}: {kept} bytes kept after a 24 MiB body"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_gzip_level_is_used_and_each_record_is_a_member() {
    let dir = std::env::temp_dir().join(format!("solo-warc-level-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stored = written_at(&dir, 0).unwrap();
    let packed = written_at(&dir, 12).unwrap();
    assert!(
        packed.len() * 4 < stored.len(),
        "{} {}",
        packed.len(),
        stored.len()
    );
    for file in [stored, packed] {
        // warcinfo, request, response: three members, each whole.
        let mut rest = &file[..];
        let mut types = Vec::new();
        while !rest.is_empty() {
            let mut member = flate2::bufread::GzDecoder::new(rest);
            let mut text = String::new();
            io::Read::read_to_string(&mut member, &mut text).unwrap();
            rest = member.into_inner();
            let kind = text.lines().find_map(|l| l.strip_prefix("WARC-Type: "));
            types.push(kind.unwrap().to_owned());
        }
        assert_eq!(types, ["warcinfo", "request", "response"]);
    }
    let mut cfg = WarcOutput::new(dir.join("bad.warc.gz"));
    cfg.gzip_level = 13;
    let err = WarcWriter::open(&cfg, 0).err().unwrap().to_string();
    assert!(err.contains("--warc-gzip-level"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn credentials_are_masked_in_request_records_unless_kept() {
    let req = b"GET / HTTP/1.1\r\nhost: a\r\nAuthorization: Basic YWxpY2U6cHc=\r\n\
                proxy-authorization: Bearer tok\r\ncookie: sid=1; x=2\r\n\
                accept: */*\r\n\r\nBODY authorization: stays";
    let out = archived_request(req, false);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(
        text,
        "GET / HTTP/1.1\r\nhost: a\r\nAuthorization: Basic ***\r\n\
         proxy-authorization: Bearer ***\r\ncookie: ***\r\naccept: */*\r\n\r\n\
         BODY authorization: stays"
    );
    assert_eq!(&*archived_request(req, true), &req[..]);
    let plain = b"GET / HTTP/1.1\r\nhost: a\r\n\r\n";
    assert!(matches!(archived_request(plain, false), Cow::Borrowed(_)));
    // A token with no scheme.
    let bare = archived_request(b"GET / HTTP/1.1\r\nauthorization: tok\r\n\r\n", false);
    assert_eq!(&*bare, b"GET / HTTP/1.1\r\nauthorization: ***\r\n\r\n");
}

#[test]
fn a_directory_is_not_a_warc_name() {
    let dir = std::env::temp_dir().join(format!("solo-warc-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let existing = dir.to_string_lossy().into_owned();
    for bad in [
        ".",
        "./",
        "sub/",
        "out/.warc.gz",
        ".warc",
        existing.as_str(),
    ] {
        let err = WarcOutput::new(bad).check_name().unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{bad}: {err}");
    }
    for good in ["crawl.warc.gz", "out/crawl", "./c.warc", "a"] {
        assert!(WarcOutput::new(good).check_name().is_ok(), "{good}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn names_are_numbered_after_the_stem() {
    let w = WarcOutput::new("/tmp/x/crawl.warc.gz");
    assert_eq!(w.parts(), ("/tmp/x/crawl".to_owned(), ".warc.gz"));
    assert_eq!(
        WarcOutput::new("a").file_name(0),
        PathBuf::from("a-00000.warc")
    );
    // The suffixes in any case: upper-case `.GZ` is gzip too.
    for (name, file) in [
        ("A.WARC.GZ", "A-00000.warc.gz"),
        ("b.Warc.Gz", "b-00000.warc.gz"),
        ("C.WARC", "C-00000.warc"),
        ("d.GZ", "d-00000.warc.gz"),
    ] {
        let w = WarcOutput::new(name);
        assert_eq!(w.file_name(0), PathBuf::from(file), "{name}");
        assert_eq!(w.gzip(), file.ends_with(".gz"), "{name}");
    }
}
