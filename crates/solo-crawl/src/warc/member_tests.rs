use std::io::Read;

use super::*;

use crate::test_rng::Rng;

/// Inflated by two inflaters no one here wrote (zlib-rs through flate2,
/// and libdeflate, which rejects incomplete codes and bad trailers).
fn inflate_both(member: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    flate2::read::GzDecoder::new(member)
        .read_to_end(&mut a)
        .expect("flate2 reads the member");
    let mut d = libdeflater::Decompressor::new();
    let mut b = vec![0; a.len()];
    let n = d
        .gzip_decompress(member, &mut b)
        .expect("libdeflate reads the member");
    assert_eq!(n, a.len());
    assert_eq!(a, b);
    a
}

fn round_trip(enc: &mut MemberEncoder, input: &[u8]) -> usize {
    let mut out = vec![7u8; 3];
    enc.gzip(input, &mut out);
    assert_eq!(&out[..3], &[7, 7, 7], "appends, keeps what was there");
    assert_eq!(inflate_both(&out[3..]), input);
    out.len() - 3
}

fn html(rng: &mut Rng, len: usize) -> Vec<u8> {
    let words = [
        &b"<a href=\"/page/"[..],
        b"\">",
        b"</a>\n",
        b"<div class=\"item\">",
        b"</div>",
        b"the ",
        b"crawler ",
        b"page ",
        b"<p>",
        b"</p>",
    ];
    let mut v = Vec::with_capacity(len + 32);
    while v.len() < len {
        match rng.below(4) {
            0 => v.extend_from_slice(rng.below(100_000).to_string().as_bytes()),
            _ => v.extend_from_slice(words[rng.below(words.len() as u64) as usize]),
        }
    }
    v.truncate(len);
    v
}

#[test]
fn edge_inputs_read_back_exactly() {
    let mut enc = MemberEncoder::new();
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"a".to_vec(),
        b"abcdefg".to_vec(),
        b"abcdefgh".to_vec(),
        vec![0; 8],
        vec![0; 9],
        vec![b'x'; 259],
        vec![b'x'; 100_000 % MAX_INPUT],
        vec![0xff; MAX_INPUT],
        (0..=255u8).collect(),
        (0..MAX_INPUT).map(|i| (i % 251) as u8).collect(),
        (0..MAX_INPUT + 1).map(|i| (i % 7) as u8).collect(),
        b"WARC/1.1\r\nWARC-Type: request\r\n\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
            .to_vec(),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    inputs.push((0..MAX_INPUT).map(|_| rng.next() as u8).collect());
    inputs.push((0..3 * MAX_INPUT).map(|_| rng.next() as u8).collect());
    inputs.push(Vec::new());
    for input in &inputs {
        round_trip(&mut enc, input);
    }
}

#[test]
fn many_members_from_one_encoder_each_read_back_alone() {
    // An entry the table keeps from an earlier input must never be taken
    // for a match in a later one: same encoder, inputs that share text.
    let mut enc = MemberEncoder::new();
    let mut rng = Rng(42);
    for round in 0..2_000 {
        let len = match round % 5 {
            0 => rng.below(64) as usize,
            1 => rng.below(700) as usize,
            2 => rng.below(4_000) as usize,
            3 => rng.below(20_000) as usize,
            _ => rng.below(MAX_INPUT as u64 + 1) as usize,
        };
        let input = if round % 7 == 0 {
            (0..len).map(|_| rng.below(4) as u8 + b'a').collect()
        } else {
            html(&mut rng, len)
        };
        round_trip(&mut enc, &input);
    }
}

#[test]
fn the_table_is_cleared_before_stamps_wrap() {
    let mut enc = MemberEncoder::new();
    let mut rng = Rng(7);
    let text = html(&mut rng, 3_000);
    round_trip(&mut enc, &text);
    enc.base = STAMP_LIMIT - 10;
    round_trip(&mut enc, &text);
    round_trip(&mut enc, &text);
    assert!(enc.base < 1 << 20, "cleared and started again");
    round_trip(&mut enc, &text);
}

#[test]
fn markup_compresses_like_libdeflate_level_1() {
    let mut enc = MemberEncoder::new();
    let mut lib = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(1).unwrap());
    let mut rng = Rng(3);
    let (mut ours, mut theirs) = (0, 0);
    for _ in 0..200 {
        let len = 300 + rng.below(6_000) as usize;
        let text = html(&mut rng, len);
        ours += round_trip(&mut enc, &text);
        let mut buf = vec![0; lib.gzip_compress_bound(text.len())];
        theirs += lib.gzip_compress(&text, &mut buf).unwrap();
    }
    // Within 10 % of libdeflate's level 1 on markup-like text.
    assert!(ours * 10 <= theirs * 11, "ours {ours} libdeflate {theirs}");
}

/// The cost (sum of frequency x length) of an optimal code, by the
/// textbook two-smallest merge.
fn huffman_cost(freq: &[u32]) -> u64 {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut heap: BinaryHeap<Reverse<u64>> = freq
        .iter()
        .filter(|&&f| f > 0)
        .map(|&f| Reverse(u64::from(f)))
        .collect();
    let mut cost = 0;
    while heap.len() > 1 {
        let Reverse(a) = heap.pop().unwrap();
        let Reverse(b) = heap.pop().unwrap();
        cost += a + b;
        heap.push(Reverse(a + b));
    }
    cost
}

fn kraft_is_one(len: &[u8], limit: u8) -> bool {
    let sum: u64 = len
        .iter()
        .filter(|&&l| l > 0)
        .map(|&l| {
            assert!(l <= limit, "length {l} over {limit}");
            1u64 << (limit - l)
        })
        .sum();
    sum == 1 << limit
}

#[test]
fn codes_are_optimal_complete_and_within_their_limit() {
    let mut rng = Rng(11);
    for round in 0..3_000 {
        let n = 2 + rng.below(LITLEN as u64 - 1) as usize;
        let freq: Vec<u32> = (0..n)
            .map(|_| match rng.below(3) {
                0 => 0,
                1 => 1 + rng.below(5) as u32,
                _ => 1 + rng.below(1 << (round % 17)) as u32,
            })
            .collect();
        let mut len = vec![0u8; n];
        build_code(&freq, &mut len, 15, &mut Vec::new(), &mut Vec::new());
        assert!(kraft_is_one(&len, 15), "{freq:?} -> {len:?}");
        for (f, l) in freq.iter().zip(&len) {
            assert!(*f == 0 || *l > 0, "a used symbol has a code");
        }
        let cost: u64 = freq
            .iter()
            .zip(&len)
            .map(|(&f, &l)| u64::from(f) * u64::from(l))
            .sum();
        let mut unlimited: Vec<u32> = freq.iter().copied().filter(|&f| f > 0).collect();
        unlimited.sort_unstable();
        if unlimited.len() >= 2 && {
            minimum_redundancy(&mut unlimited);
            unlimited[0] <= 15
        } {
            assert_eq!(cost, huffman_cost(&freq), "{freq:?}");
        }
    }
}

#[test]
fn deep_trees_are_limited() {
    // Fibonacci weights make the deepest possible tree: 30 symbols would
    // need 29 bits unlimited.
    let mut fib = vec![1u32, 1];
    while fib.len() < 30 {
        let k = fib.len();
        fib.push(fib[k - 1] + fib[k - 2]);
    }
    for limit in [7u8, 15] {
        let n = if limit == 7 { 19 } else { 30 };
        let mut len = vec![0u8; n];
        build_code(&fib[..n], &mut len, limit, &mut Vec::new(), &mut Vec::new());
        assert!(kraft_is_one(&len, limit), "{len:?}");
    }
    // One used symbol, or none: still a complete code.
    for freq in [vec![0u32, 0, 5, 0], vec![0; 4], vec![3, 0, 0, 0]] {
        let mut len = vec![0u8; 4];
        build_code(&freq, &mut len, 15, &mut Vec::new(), &mut Vec::new());
        assert!(kraft_is_one(&len, 15), "{freq:?} -> {len:?}");
    }
}

#[test]
fn length_and_distance_symbols_follow_rfc_1951() {
    // (first length, symbol, extra bits) of each length code.
    let mut base = 3;
    for sym in 257..285 {
        let extra = u32::from(LENGTH_EXTRA[sym - 257]);
        for k in 0..1u32 << extra {
            let len = base + k as usize;
            if len == 258 {
                break;
            }
            assert_eq!(length_symbol(len), (sym, k, extra), "length {len}");
        }
        base += 1 << extra;
    }
    assert_eq!(length_symbol(258), (285, 0, 0));
    let mut base = 1;
    for (sym, &extra) in DIST_EXTRA.iter().enumerate() {
        let extra = u32::from(extra);
        for k in 0..1u32 << extra {
            assert_eq!(dist_symbol(base + k as usize), (sym, k, extra));
        }
        base += 1 << extra;
    }
    assert_eq!(base, 32_769);
}

#[test]
fn code_lengths_run_length_code_back() {
    let mut rng = Rng(5);
    for _ in 0..2_000 {
        let n = rng.below(320) as usize;
        let lengths: Vec<u8> = (0..n)
            .map(|_| match rng.below(3) {
                0 => 0,
                1 => 8,
                _ => rng.below(16) as u8,
            })
            .collect();
        let mut rle = Vec::new();
        run_lengths(lengths.iter().copied(), &mut rle);
        let mut back: Vec<u8> = Vec::new();
        for (sym, extra) in rle {
            match sym {
                16 => {
                    assert!(extra <= 3);
                    let l = *back.last().expect("16 follows a length");
                    back.extend(std::iter::repeat_n(l, 3 + extra as usize));
                }
                17 => back.extend(std::iter::repeat_n(0, 3 + extra as usize)),
                18 => {
                    assert!(extra <= 127);
                    back.extend(std::iter::repeat_n(0, 11 + extra as usize))
                }
                l => back.push(l),
            }
        }
        assert_eq!(back, lengths);
    }
}

/// A page as a site's template makes them: the same markup, other
/// numbers and words.
fn page(rng: &mut Rng) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n\r\n\
         <!DOCTYPE html><html><head><title>Page {}</title></head><body><ul>\n",
        rng.below(100_000)
    );
    let words = ["crawler", "page", "the", "site", "link", "archive"];
    for _ in 0..20 {
        let n = rng.below(100_000);
        let w = words[rng.below(words.len() as u64) as usize];
        v += &format!("<li><a href=\"/page/{n}.html\">{w} {n}</a></li>\n");
    }
    v += "</ul></body></html>\n";
    v.into_bytes()
}

#[test]
fn a_code_serves_the_records_of_its_kind_that_follow() {
    // Request-like and response-like records in turn, as a crawl writes
    // them: after the first few, most take a code built before.
    let mut enc = MemberEncoder::new();
    let mut rng = Rng(9);
    let (mut reused, mut total) = (0, 0);
    for n in 0..200 {
        let record = if n % 2 == 0 {
            format!(
                "WARC/1.1\r\nWARC-Type: request\r\n\r\nGET /page/{}.html HTTP/1.1\r\n\
                 host: 127.0.0.1:8080\r\nuser-agent: solo-crawl\r\naccept: */*\r\n\r\n",
                rng.below(100_000)
            )
            .into_bytes()
        } else {
            page(&mut rng)
        };
        let before = enc.codes.each_ref().map(|c| c.uses);
        round_trip(&mut enc, &record);
        let after = enc.codes.each_ref().map(|c| c.uses);
        total += 1;
        reused += usize::from(before.iter().zip(&after).any(|(b, a)| a == &(b + 1)));
    }
    assert!(
        reused * 2 > total,
        "{reused} of {total} records took a code built before"
    );
}

#[test]
fn the_fixed_code_is_rfc_1951s() {
    // RFC 1951 3.2.6: the first code of each range, MSB first.
    let (litlen, dist) = fixed_code();
    let msb_first = |code: u16, len: u8| code.reverse_bits() >> (16 - len);
    for (sym, code, len) in [
        (0, 0b0011_0000, 8),
        (143, 0b1011_1111, 8),
        (144, 0b1_1001_0000, 9),
        (255, 0b1_1111_1111, 9),
        (256, 0b000_0000, 7),
        (279, 0b001_0111, 7),
        (280, 0b1100_0000, 8),
        (285, 0b1100_0101, 8),
    ] {
        assert_eq!(litlen.len[sym], len, "symbol {sym}");
        assert_eq!(msb_first(litlen.code[sym], len), code, "symbol {sym}");
    }
    for sym in 0..DIST {
        assert_eq!(
            (dist.len[sym], msb_first(dist.code[sym], 5)),
            (5, sym as u16)
        );
    }
}

#[test]
fn short_records_of_any_bytes_read_back() {
    // Short inputs, where the fixed code wins, with bytes of every range
    // (those over 143 take its 9-bit codes), after an encoder has served
    // other records too.
    let mut enc = MemberEncoder::new();
    let mut rng = Rng(13);
    for round in 0..3_000 {
        let len = rng.below(40) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| match round % 3 {
                0 => rng.next() as u8,
                1 => 128 + rng.below(128) as u8,
                _ => b"\xe9\xa3\x9f.com"[rng.below(7) as usize],
            })
            .collect();
        round_trip(&mut enc, &input);
        if round % 50 == 0 {
            round_trip(&mut enc, &html(&mut rng, 3_000));
        }
    }
}

#[test]
fn a_record_of_another_kind_gets_a_code_of_its_own() {
    // After many pages, text of another kind whose symbols the pages'
    // code covers, but with other frequencies (mostly digits and a few
    // letters): it is coded about as well as by an encoder that saw
    // nothing before.
    let mut warm = MemberEncoder::new();
    let mut rng = Rng(17);
    for _ in 0..100 {
        round_trip(&mut warm, &html(&mut rng, 2_500));
    }
    let other: Vec<u8> = (0..2_000)
        .map(|_| b"0123456789eap"[rng.below(13) as usize])
        .collect();
    let after_pages = round_trip(&mut warm, &other);
    let fresh = round_trip(&mut MemberEncoder::new(), &other);
    assert!(
        after_pages * 100 <= fresh * 103,
        "{after_pages} bytes against {fresh} fresh"
    );
}

#[test]
fn real_files_read_back_in_record_sized_pieces() {
    // Mixed real data in pieces of the sizes the writer gives this
    // encoder: the workspace's sources and docs, then this test program
    // itself (machine code, tables, strings), all through one encoder.
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => files(&path, out),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = Vec::new();
    files(&root.join("crates/solo-crawl/src"), &mut paths);
    files(&root.join("docs"), &mut paths);
    paths.push(std::env::current_exe().unwrap());
    let mut enc = MemberEncoder::new();
    let mut sizes = Rng(21);
    let mut pieces = 0;
    for path in paths {
        let data = std::fs::read(&path).unwrap();
        let mut rest = &data[..];
        // The test binary is large: a spread of its pieces is enough.
        while !rest.is_empty() && pieces < 20_000 {
            let n = (1 + sizes.below(SMALL_RECORD as u64) as usize).min(rest.len());
            round_trip(&mut enc, &rest[..n]);
            rest = &rest[n..];
            pieces += 1;
            let skip = if data.len() > 1 << 20 { 40 * n } else { 0 };
            rest = &rest[skip.min(rest.len())..];
        }
    }
    assert!(pieces > 500, "{pieces} pieces");
}
