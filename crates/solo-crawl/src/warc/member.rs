//! One WARC record as one gzip member, fast for the small records a crawl
//! writes (a request ~0.6 KB, a page's response a few KB).
//!
//! Owns: the deflate encoding of one record into one gzip member (RFC
//! 1952 around one RFC 1951 block): greedy LZ77 matching on a hash table
//! that is never cleared between records, one Huffman block (dynamic,
//! fixed or stored, whichever is smallest), the dynamic codes kept from
//! record to record, the gzip header and trailer.
//! Must not: know WARC (the writer composes records and decides which
//! encoder takes which), or hold any record's bytes after it returns.
//!
//! Why not libdeflate for these (it still takes records over
//! [`SMALL_RECORD`] and every level but 1): a gzip member per record is what
//! WARC readers expect (each record seekable on its own), and for ~1.6 KB
//! records a whole-buffer compressor spends much of its time per member,
//! not per byte: libdeflate's level 1 clears its 128 KiB match table
//! (~14,000 instructions) and builds and weighs its Huffman codes
//! (~23,000) for every record; zlib-rs and miniz_oxide clear tables as
//! large. Here:
//! - the match table holds stamps that keep growing from record to
//!   record, so an entry an earlier record left is out of range, and the
//!   table is cleared only every 4 GiB of input;
//! - a dynamic code is built (Moffat and Katajainen's in-place
//!   minimum-redundancy algorithm, on the symbols used) from the record's
//!   frequencies and those of the records of its kind before it, and then
//!   serves the next [`REUSES`] records that use no symbol it lacks and
//!   that it codes within 4 % of their entropy: a crawl's request records
//!   are alike, and so are its pages. Two codes are kept, one per kind in
//!   practice; a record of another kind gets a code of its own.
//!
//! On the records of a 20,000-page crawl of the benchmark site
//! (bench/notes.md): 51 % fewer instructions than libdeflate's level 1,
//! files 2.3 % larger.

/// The records the writer gives this encoder: up to 8 KiB (a crawl's
/// requests and small pages), where libdeflate's per-member work is most
/// of its time. On larger ones that work is a small part, and
/// libdeflate's matching packs 2-7 % tighter than this one's greedy
/// single-candidate search (bench/notes.md).
pub(crate) const SMALL_RECORD: usize = 8 << 10;

/// The largest input coded in one block (one stored block holds it);
/// larger ones are only stored.
const MAX_INPUT: usize = 65_535;

const HASH_BITS: u32 = 14;
const WINDOW: u32 = 32_768;
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = 258;
/// Positions are stamped from 1 up; the table is cleared before they
/// would pass this.
const STAMP_LIMIT: u32 = u32::MAX - 2 * MAX_INPUT as u32;

const LITLEN: usize = 286;
const DIST: usize = 30;
const PRECODE: usize = 19;
const END_OF_BLOCK: usize = 256;
const PRECODE_ORDER: [usize; PRECODE] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A reusable encoder: one per writer thread.
pub(crate) struct MemberEncoder {
    /// Hash of 4 bytes → stamp (base + position) of their last place.
    table: Box<[u32; 1 << HASH_BITS]>,
    /// The stamp of the current input's first byte.
    base: u32,
    /// Matches of the current input: literals before it, length, distance.
    matches: Vec<Match>,
    lit_freq: [u32; LITLEN],
    dist_freq: [u32; DIST],
    /// The last two dynamic codes built: one is used again for a record
    /// whose symbols it covers (see [`REUSES`]).
    codes: [Dynamic; 2],
    /// RFC 1951's fixed code.
    fixed: (Code<LITLEN>, Code<DIST>),
    /// `log2(1 + i / 256)` in 1/4096ths, for [`entropy_fp`].
    log2: [u32; 256],
    /// Scratch space of [`build_code`].
    keys: Vec<u32>,
    depth: Vec<u32>,
}

#[derive(Clone, Copy)]
struct Match {
    literals: u32,
    len: u16,
    dist: u16,
}

/// A Huffman code over `N` symbols: lengths and bit-reversed codes.
struct Code<const N: usize> {
    len: [u8; N],
    code: [u16; N],
}

impl<const N: usize> Code<N> {
    fn new() -> Code<N> {
        Code {
            len: [0; N],
            code: [0; N],
        }
    }
}

impl MemberEncoder {
    pub(crate) fn new() -> MemberEncoder {
        MemberEncoder {
            table: Box::new([0; 1 << HASH_BITS]),
            base: 1,
            matches: Vec::new(),
            lit_freq: [0; LITLEN],
            dist_freq: [0; DIST],
            codes: [Dynamic::new(), Dynamic::new()],
            fixed: fixed_code(),
            log2: std::array::from_fn(|i| {
                ((1.0 + i as f64 / 256.0).log2() * 4096.0).round() as u32
            }),
            keys: Vec::with_capacity(LITLEN),
            depth: Vec::with_capacity(LITLEN),
        }
    }

    /// Appends `input` to `out` as one gzip member (meant for inputs of
    /// at most [`SMALL_RECORD`] bytes; over 65,535 they are only
    /// stored).
    pub(crate) fn gzip(&mut self, input: &[u8], out: &mut Vec<u8>) {
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=4 (fastest) OS=255 (unknown).
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
        self.deflate(input, out);
        out.extend_from_slice(&libdeflater::crc32(input).to_le_bytes());
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    }

    /// Appends `input` as one final deflate block.
    fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if input.len() > MAX_INPUT {
            return stored(input, out);
        }
        let tail = self.parse(input);
        self.count_literals(&input[tail..]);
        self.lit_freq[END_OF_BLOCK] += 1;
        let extra = self.extra_bits();
        let (k, dynamic) = self.dynamic_code();
        let dynamic_bits = dynamic + extra;
        let fixed_bits = self.fixed_bits() + extra;
        let stored_bits = 3 + 7 + 32 + 8 * input.len() as u64;
        if stored_bits <= dynamic_bits.min(fixed_bits) {
            return stored(input, out);
        }
        let mut w = Bits::new(out);
        let (litlen, dist) = if fixed_bits <= dynamic_bits {
            w.put(1 | (1 << 1), 3);
            (&self.fixed.0, &self.fixed.1)
        } else {
            w.put(1 | (2 << 1), 3);
            let code = &self.codes[k];
            code.write_header(&mut w);
            (&code.litlen, &code.dist)
        };
        write_symbols(&self.matches, input, tail, litlen, dist, &mut w);
        w.finish();
    }

    /// The dynamic code to use (its slot in `codes`) and the bits it
    /// takes (header and symbols, without extra bits): the cheaper of the
    /// last two built that has a code for every symbol used, codes them
    /// near their entropy and has not been used [`REUSES`] times; else
    /// one built now.
    fn dynamic_code(&mut self) -> (usize, u64) {
        // A code built before is used again only if its symbols' bits are
        // near the best any code could do for these (their entropy):
        // records of another kind (a stylesheet after pages) get codes of
        // their own.
        let floor = self.entropy_bits();
        let good_enough = floor + floor / 25 + 64;
        let mut best: Option<(usize, u64)> = None;
        // The code nearest these symbols (one without a code counted as
        // 16 bits per use), and whether it is near enough to keep its
        // history.
        let mut nearest = (0, u64::MAX, false);
        for (k, code) in self.codes.iter().enumerate() {
            let (symbols, missing) = code.bits_for(&self.lit_freq, &self.dist_freq);
            let (close, bits) = (symbols <= good_enough, code.header_bits + symbols);
            if close && missing == 0 && code.uses < REUSES && best.is_none_or(|(_, b)| bits < b) {
                best = Some((k, bits));
            }
            let distance = bits + 16 * missing;
            if distance < nearest.1 {
                nearest = (k, distance, close);
            }
        }
        if let Some((k, bits)) = best {
            self.codes[k].uses += 1;
            return (k, bits);
        }
        // The nearest code is built again: from these frequencies and
        // (decayed) those it was built from, so that it has codes for the
        // symbols its kind of records use; from these alone if this
        // record is of another kind.
        let (k, _, close) = nearest;
        let code = &mut self.codes[k];
        if !close {
            code.lit_history = [0; LITLEN];
            code.dist_history = [0; DIST];
        }
        code.build(
            &self.lit_freq,
            &self.dist_freq,
            &mut self.keys,
            &mut self.depth,
        );
        (
            k,
            code.header_bits + code.bits_for(&self.lit_freq, &self.dist_freq).0,
        )
    }

    /// The entropy of the literal/length and distance symbols counted,
    /// in bits: no code spends fewer on them.
    fn entropy_bits(&self) -> u64 {
        (entropy_fp(&self.lit_freq, &self.log2) + entropy_fp(&self.dist_freq, &self.log2))
            >> LOG2_FRAC
    }

    /// Greedy LZ77 over `input`: fills `matches` and the frequencies of
    /// the literals before the last match's end; returns where the
    /// literals after it start.
    fn parse(&mut self, input: &[u8]) -> usize {
        self.matches.clear();
        self.lit_freq = [0; LITLEN];
        self.dist_freq = [0; DIST];
        if self.base > STAMP_LIMIT {
            self.table.fill(0);
            self.base = 1;
        }
        let base = self.base;
        // The next input's stamps start past this one's: its entries are
        // below that input's base, so never taken for a match there.
        self.base += input.len() as u32;
        if input.len() < 8 {
            return 0;
        }
        // The last position at which 8 bytes can be read.
        let last = input.len() - 8;
        let mut lit_start = 0;
        let mut i = 0;
        while i <= last {
            let cur = read32(input, i);
            let h = hash(cur);
            let cand = self.table[h];
            let here = base + i as u32;
            self.table[h] = here;
            if cand >= base && here - cand <= WINDOW {
                let c = (cand - base) as usize;
                if read32(input, c) == cur {
                    let len = match_len(input, c, i);
                    self.count_literals(&input[lit_start..i]);
                    self.push_match(i - lit_start, len, i - c);
                    let end = i + len;
                    // A position near the end of the match goes into the
                    // table too: repeats in markup often start there.
                    if end - 2 <= last {
                        self.table[hash(read32(input, end - 2))] = base + end as u32 - 2;
                    }
                    i = end;
                    lit_start = i;
                    continue;
                }
            }
            // Step faster through bytes that do not repeat.
            i += 1 + ((i - lit_start) >> 6);
        }
        lit_start
    }

    fn count_literals(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.lit_freq[b as usize] += 1;
        }
    }

    fn push_match(&mut self, literals: usize, len: usize, dist: usize) {
        self.lit_freq[length_symbol(len).0] += 1;
        self.dist_freq[dist_symbol(dist).0] += 1;
        self.matches.push(Match {
            literals: literals as u32,
            len: len as u16,
            dist: dist as u16,
        });
    }

    /// The bits of the matches' extra bits (the same in every block type).
    fn extra_bits(&self) -> u64 {
        let mut bits = 0u64;
        for (sym, &f) in self.lit_freq[257..].iter().enumerate() {
            bits += u64::from(f) * u64::from(LENGTH_EXTRA[sym]);
        }
        for (sym, &f) in self.dist_freq.iter().enumerate() {
            bits += u64::from(f) * u64::from(DIST_EXTRA[sym]);
        }
        bits
    }

    /// The symbols' bits in the fixed code, without extra bits.
    fn fixed_bits(&self) -> u64 {
        // In u32, as in `Dynamic::bits_for`.
        let mut bits = 0u32;
        for (&f, &l) in self.lit_freq.iter().zip(&self.fixed.0.len) {
            bits += f * u32::from(l);
        }
        u64::from(bits) + 5 * self.dist_freq.iter().map(|&f| u64::from(f)).sum::<u64>()
    }
}

/// How many more records a dynamic code is used for after the one it was
/// built for (records of one crawl use much the same symbols: a request
/// record's code fits the next request records within a few bytes).
const REUSES: u32 = 16;

/// A dynamic code with its header, ready to write.
struct Dynamic {
    litlen: Code<LITLEN>,
    dist: Code<DIST>,
    pre: Code<PRECODE>,
    /// The code lengths, run-length coded: precode symbol, extra bits.
    rle: Vec<(u8, u8)>,
    hlit: usize,
    hdist: usize,
    hclen: usize,
    header_bits: u64,
    /// Records written with it since it was built; [`REUSES`] when
    /// none was built yet.
    uses: u32,
    /// The frequencies it was built from: those of its last record plus
    /// three quarters of the history before, rounded up, so that a symbol
    /// once seen keeps a code (a count of 3 or less never decays) and the
    /// code covers its kind of records (at most four times the largest
    /// input, [`MAX_INPUT`]: below 2^19).
    lit_history: [u32; LITLEN],
    dist_history: [u32; DIST],
}

impl Dynamic {
    fn new() -> Dynamic {
        Dynamic {
            litlen: Code::new(),
            dist: Code::new(),
            pre: Code::new(),
            rle: Vec::new(),
            hlit: 257,
            hdist: 1,
            hclen: 4,
            header_bits: 0,
            uses: REUSES,
            lit_history: [0; LITLEN],
            dist_history: [0; DIST],
        }
    }

    /// The bits of these symbols in this code (without its header), and
    /// how many of the symbols used have no code here.
    fn bits_for(&self, lit_freq: &[u32; LITLEN], dist_freq: &[u32; DIST]) -> (u64, u64) {
        // In u32 (at most 2^16 symbols of 15 bits): the loops vectorize.
        let (mut bits, mut missing) = (0u32, 0u32);
        for (&f, &l) in lit_freq.iter().zip(&self.litlen.len) {
            bits += f * u32::from(l);
            missing += u32::from(f != 0) & u32::from(l == 0);
        }
        for (&f, &l) in dist_freq.iter().zip(&self.dist.len) {
            bits += f * u32::from(l);
            missing += u32::from(f != 0) & u32::from(l == 0);
        }
        (u64::from(bits), u64::from(missing))
    }

    /// Builds the codes for these frequencies, and their header.
    fn build(
        &mut self,
        lit_freq: &[u32; LITLEN],
        dist_freq: &[u32; DIST],
        keys: &mut Vec<u32>,
        depth: &mut Vec<u32>,
    ) {
        for (h, &f) in self.lit_history.iter_mut().zip(lit_freq) {
            *h = *h - (*h >> 2) + f;
        }
        for (h, &f) in self.dist_history.iter_mut().zip(dist_freq) {
            *h = *h - (*h >> 2) + f;
        }
        build_code(&self.lit_history, &mut self.litlen.len, 15, keys, depth);
        build_code(&self.dist_history, &mut self.dist.len, 15, keys, depth);
        assign_codes(&mut self.litlen);
        assign_codes(&mut self.dist);
        self.hlit = used_len(&self.litlen.len, 257);
        self.hdist = used_len(&self.dist.len, 1);
        self.rle.clear();
        let lengths = self.litlen.len[..self.hlit].iter();
        run_lengths(
            lengths.chain(&self.dist.len[..self.hdist]).copied(),
            &mut self.rle,
        );
        let mut pre_freq = [0u32; PRECODE];
        for &(sym, _) in &self.rle {
            pre_freq[sym as usize] += 1;
        }
        build_code(&pre_freq, &mut self.pre.len, 7, keys, depth);
        assign_codes(&mut self.pre);
        self.hclen = PRECODE;
        while self.hclen > 4 && self.pre.len[PRECODE_ORDER[self.hclen - 1]] == 0 {
            self.hclen -= 1;
        }
        self.header_bits = 5 + 5 + 4 + 3 * self.hclen as u64;
        for &(sym, _) in &self.rle {
            self.header_bits += u64::from(self.pre.len[sym as usize] + RLE_EXTRA[sym as usize]);
        }
        self.uses = 0;
    }

    fn write_header(&self, w: &mut Bits<'_>) {
        w.put((self.hlit - 257) as u64, 5);
        w.put((self.hdist - 1) as u64, 5);
        w.put((self.hclen - 4) as u64, 4);
        for &sym in &PRECODE_ORDER[..self.hclen] {
            w.put(u64::from(self.pre.len[sym]), 3);
        }
        for &(sym, extra) in &self.rle {
            let s = sym as usize;
            w.put(u64::from(self.pre.code[s]), u32::from(self.pre.len[s]));
            w.put(u64::from(extra), u32::from(RLE_EXTRA[s]));
        }
    }
}

/// Writes the literals and matches of `input`, then the end of the block.
fn write_symbols(
    matches: &[Match],
    input: &[u8],
    tail: usize,
    lit: &Code<LITLEN>,
    dist: &Code<DIST>,
    w: &mut Bits<'_>,
) {
    let mut pos = 0;
    for m in matches {
        literals(&input[pos..pos + m.literals as usize], lit, w);
        let len = m.len as usize;
        let (ls, lextra, lbits) = length_symbol(len);
        let (ds, dextra, dbits) = dist_symbol(m.dist as usize);
        w.put(u64::from(lit.code[ls]), u32::from(lit.len[ls]));
        w.put(u64::from(lextra), lbits);
        w.put(u64::from(dist.code[ds]), u32::from(dist.len[ds]));
        w.put(u64::from(dextra), dbits);
        pos += m.literals as usize + len;
    }
    debug_assert_eq!(pos, tail);
    literals(&input[tail..], lit, w);
    w.put(
        u64::from(lit.code[END_OF_BLOCK]),
        u32::from(lit.len[END_OF_BLOCK]),
    );
}

/// Writes the codes of `bytes` as literals, two at a time.
fn literals(bytes: &[u8], lit: &Code<LITLEN>, w: &mut Bits<'_>) {
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        w.put_literals(lit, pair[0], pair[1]);
    }
    if let &[b] = pairs.remainder() {
        w.put(
            u64::from(lit.code[b as usize]),
            u32::from(lit.len[b as usize]),
        );
    }
}

/// Fraction bits of the fixed-point logarithms.
const LOG2_FRAC: u32 = 12;

/// `log2(x)` in 1/4096ths (x > 0), to within ~1/500 of a bit.
fn log2_fp(x: u32, table: &[u32; 256]) -> u64 {
    let k = 31 - x.leading_zeros();
    let top = if k >= 8 { x >> (k - 8) } else { x << (8 - k) };
    u64::from((k << LOG2_FRAC) + table[(top & 0xff) as usize])
}

/// `sum(f * log2(total / f))` over the counts, in 1/4096ths of a bit.
fn entropy_fp(freq: &[u32], table: &[u32; 256]) -> u64 {
    let total: u32 = freq.iter().sum();
    if total == 0 {
        return 0;
    }
    let log_total = log2_fp(total, table);
    freq.iter()
        .filter(|&&f| f > 0)
        .map(|&f| u64::from(f) * (log_total - log2_fp(f, table).min(log_total)))
        .sum()
}

/// `input` as stored blocks (at most 65,535 bytes each), the last final.
fn stored(input: &[u8], out: &mut Vec<u8>) {
    let mut chunks = input.chunks(MAX_INPUT).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        // BFINAL (on the last), BTYPE=00, padding to the byte: one byte.
        out.push(u8::from(chunks.peek().is_none()));
        let n = chunk.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

/// The four bytes at `i`, little-endian.
fn read32(b: &[u8], i: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(w)
}

fn read64(b: &[u8], i: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

fn hash(x: u32) -> usize {
    (x.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// The length of the match between the bytes at `c` and at `i` (`c <
/// i`, their first [`MIN_MATCH`] bytes equal), at most [`MAX_MATCH`].
fn match_len(input: &[u8], c: usize, i: usize) -> usize {
    let max = MAX_MATCH.min(input.len() - i);
    let mut len = MIN_MATCH;
    while len + 8 <= max {
        let x = read64(input, c + len) ^ read64(input, i + len);
        if x != 0 {
            return len + (x.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max && input[c + len] == input[i + len] {
        len += 1;
    }
    len
}

/// The extra bits of length symbols 257..=285.
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// The extra bits of distance symbols 0..30.
const DIST_EXTRA: [u8; DIST] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The extra bits of the precode's repeat symbols 16, 17, 18.
const RLE_EXTRA: [u8; PRECODE] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];

/// A match length's symbol, its extra bits' value and their number.
fn length_symbol(len: usize) -> (usize, u32, u32) {
    let l = (len - 3) as u32;
    if l < 8 {
        return (257 + l as usize, 0, 0);
    }
    if l == 255 {
        return (285, 0, 0);
    }
    let top = 31 - l.leading_zeros();
    let extra = top - 2;
    let sym = 257 + 4 * (top - 1) + ((l >> extra) & 3);
    (sym as usize, l & ((1 << extra) - 1), extra)
}

/// A match distance's symbol, its extra bits' value and their number.
fn dist_symbol(dist: usize) -> (usize, u32, u32) {
    let d = (dist - 1) as u32;
    if d < 4 {
        return (d as usize, 0, 0);
    }
    let top = 31 - d.leading_zeros();
    let extra = top - 1;
    let sym = 2 * top + ((d >> extra) & 1);
    (sym as usize, d & ((1 << extra) - 1), extra)
}

/// A literal/length symbol's length in the fixed code (RFC 1951 3.2.6).
fn fixed_litlen_len(sym: usize) -> u8 {
    match sym {
        0..=143 => 8,
        144..=255 => 9,
        256..=279 => 7,
        _ => 8,
    }
}

fn fixed_code() -> (Code<LITLEN>, Code<DIST>) {
    // Assigned over all 288 and 32 symbols of RFC 1951's fixed codes: the
    // two literal/length symbols (286, 287) that never occur still take
    // two 8-bit codes ahead of the 9-bit ones.
    let mut all = Code::<288>::new();
    for (sym, len) in all.len.iter_mut().enumerate() {
        *len = fixed_litlen_len(sym);
    }
    assign_codes(&mut all);
    let mut dist = Code::<32>::new();
    dist.len = [5; 32];
    assign_codes(&mut dist);
    let (mut litlen, mut d) = (Code::new(), Code::new());
    litlen.len.copy_from_slice(&all.len[..LITLEN]);
    litlen.code.copy_from_slice(&all.code[..LITLEN]);
    d.len.copy_from_slice(&dist.len[..DIST]);
    d.code.copy_from_slice(&dist.code[..DIST]);
    (litlen, d)
}

/// The number of leading lengths to send: through the last used symbol,
/// and at least `min`.
fn used_len(len: &[u8], min: usize) -> usize {
    len.iter()
        .rposition(|&l| l != 0)
        .map_or(0, |p| p + 1)
        .max(min)
}

/// Code lengths, at most `limit`, of a minimum-redundancy (Huffman) code
/// for `freq` (each below 2^22), complete (Kraft sum exactly 1) so that
/// every inflater takes it: a symbol that is used alone gets a companion.
/// `keys` and `depth` are scratch space.
fn build_code(freq: &[u32], len: &mut [u8], limit: u8, keys: &mut Vec<u32>, depth: &mut Vec<u32>) {
    len.fill(0);
    // frequency << 9 | symbol: sorted, the symbols by frequency.
    keys.clear();
    for (sym, &f) in freq.iter().enumerate() {
        if f > 0 {
            keys.push(f << 9 | sym as u32);
        }
    }
    // A code of one symbol is not complete; two symbols of one bit are.
    let mut pad = 0;
    while keys.len() < 2 {
        if freq[pad] == 0 {
            keys.push(1 << 9 | pad as u32);
        }
        pad += 1;
    }
    keys.sort_unstable();
    loop {
        depth.clear();
        depth.extend(keys.iter().map(|k| k >> 9));
        minimum_redundancy(depth);
        // depth is non-increasing: the least frequent symbols first.
        if depth[0] <= u32::from(limit) {
            for (&k, &d) in keys.iter().zip(depth.iter()) {
                len[(k & 511) as usize] = d as u8;
            }
            return;
        }
        // Too deep: flatten the weights and build again (each round
        // halves the spread; all equal gives depths of log2(n)).
        for k in keys.iter_mut() {
            let f = *k >> 9;
            *k = ((f >> 1) | 1) << 9 | (*k & 511);
        }
        keys.sort_unstable();
    }
}

/// Moffat and Katajainen's in-place calculation of a minimum-redundancy
/// code: `a` holds at least two weights in ascending order and gets their
/// code lengths (non-increasing).
fn minimum_redundancy(a: &mut [u32]) {
    let n = a.len();
    // Phase 1: combine, leaving parent pointers in place of weights.
    a[0] += a[1];
    let (mut root, mut leaf) = (0, 2);
    for next in 1..n - 1 {
        if leaf >= n || a[root] < a[leaf] {
            a[next] = a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] = a[leaf];
            leaf += 1;
        }
        if leaf >= n || (root < next && a[root] < a[leaf]) {
            a[next] += a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] += a[leaf];
            leaf += 1;
        }
    }
    // Phase 2: internal nodes' depths.
    a[n - 2] = 0;
    for next in (0..n - 2).rev() {
        a[next] = a[a[next] as usize] + 1;
    }
    // Phase 3: leaves' depths.
    let (mut avail, mut used, mut depth) = (1u32, 0u32, 0u32);
    let mut root = n as isize - 2;
    let mut next = n as isize - 1;
    while avail > 0 {
        while root >= 0 && a[root as usize] == depth {
            used += 1;
            root -= 1;
        }
        while avail > used {
            a[next as usize] = depth;
            next -= 1;
            avail -= 1;
        }
        avail = 2 * used;
        depth += 1;
        used = 0;
    }
}

/// Canonical codes for the lengths (RFC 1951 3.2.2), bit-reversed for an
/// LSB-first writer.
fn assign_codes<const N: usize>(c: &mut Code<N>) {
    let mut count = [0u16; 16];
    for &l in &c.len {
        count[l as usize] += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    for (sym, &l) in c.len.iter().enumerate() {
        if l > 0 {
            let v = next[l as usize];
            next[l as usize] += 1;
            c.code[sym] = v.reverse_bits() >> (16 - l);
        }
    }
}

/// Run-length codes `lengths` with the precode's symbols (0-15: a length;
/// 16: the last length 3-6 times more; 17: 3-10 zeros; 18: 11-138 zeros)
/// as (symbol, extra bits' value).
fn run_lengths(lengths: impl Iterator<Item = u8>, out: &mut Vec<(u8, u8)>) {
    let mut it = lengths.peekable();
    while let Some(l) = it.next() {
        let mut run = 1;
        while run < 138 && it.peek() == Some(&l) {
            it.next();
            run += 1;
        }
        if l == 0 {
            while run >= 11 {
                let n = run.min(138);
                out.push((18, (n - 11) as u8));
                run -= n;
            }
            if run >= 3 {
                out.push((17, (run - 3) as u8));
                run = 0;
            }
        } else {
            out.push((l, 0));
            run -= 1;
            while run >= 3 {
                let n = run.min(6);
                out.push((16, (n - 3) as u8));
                run -= n;
            }
        }
        for _ in 0..run {
            out.push((l, 0));
        }
    }
}

/// An LSB-first bit writer appending to a byte vector.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut Vec<u8>) -> Bits<'a> {
        Bits { out, acc: 0, n: 0 }
    }

    /// Adds the low `n` bits of `bits` (`n` at most 32).
    #[inline]
    fn put(&mut self, bits: u64, n: u32) {
        self.acc |= bits << self.n;
        self.n += n;
        self.spill();
    }

    /// Adds the codes of two literals (at most 15 bits each: the
    /// accumulator, under 32 bits between calls, holds both).
    #[inline]
    fn put_literals(&mut self, code: &Code<LITLEN>, a: u8, b: u8) {
        let (a, b) = (a as usize, b as usize);
        self.acc |= u64::from(code.code[a]) << self.n;
        self.n += u32::from(code.len[a]);
        self.acc |= u64::from(code.code[b]) << self.n;
        self.n += u32::from(code.len[b]);
        self.spill();
    }

    #[inline]
    fn spill(&mut self) {
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Pads with zero bits to a byte boundary and hands over the bytes.
    fn align(&mut self) {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.acc = 0;
    }

    fn finish(mut self) {
        self.align();
    }
}

#[cfg(test)]
#[path = "member_tests.rs"]
mod tests;
