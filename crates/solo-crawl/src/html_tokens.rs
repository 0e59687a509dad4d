//! The HTML tokenizer the link scan streams through.
//!
//! Owns: cutting a decoded document into what the scan looks at — start
//! tags with their attributes, end tags, and text nodes — by the
//! tokenization rules of the WHATWG HTML standard: comments (`-->`,
//! `--!>`, `<!-->`), doctypes and bogus comments, attribute values quoted
//! or not (a `>` in quotes ends no tag), the first of duplicate
//! attributes, a tag cut off by the end of the document dropped; the
//! content of RCDATA (`title`, `textarea`) and raw text elements
//! (`style`, `noscript`, `iframe`, `xmp`, `noembed`, `noframes`) up to
//! their end tag, script data with its escaped and double-escaped states
//! (`<!--<script>…</script>-->` inside a script), `plaintext`; and, as a
//! tree builder switches them, SVG and MathML content (no raw text there,
//! `<![CDATA[…]]>` sections, the HTML start tags that break out of it,
//! the integration points that hold HTML again). Must not: build a tree,
//! expand character references (the scan does, by the rules for
//! attribute values or for text), or allocate per tag.
//!
//! Why not lol_html, which the scan used before: lol_html compiles its
//! selector program for every rewriter, one per page (~6 % of a crawl's
//! CPU on 2 KB pages), and its lexer does work this scan has no use for;
//! see BENCHMARKS.md, "A tokenizer of our own for the link scan". It also
//! kept a stack of every open element, which a page of millions of nested
//! tags grew to hundreds of MB; this tokenizer keeps only the stack of
//! SVG and MathML namespaces, bounded by [`MAX_FOREIGN_DEPTH`].

use memchr::{memchr, memchr2, memmem};

/// One attribute of a start tag, as written: the name in its case, the
/// value without its quotes, character references not expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attr<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
}

/// A start tag: `name` lower-cased (`""` for a name that is not ASCII
/// or longer than any the scan looks for), the first attribute of each
/// name.
pub(crate) struct StartTag<'t, 'a> {
    pub(crate) name: &'t str,
    pub(crate) attrs: &'t [Attr<'a>],
}

impl<'a> StartTag<'_, 'a> {
    /// The value of the attribute `name` (lower case), as written.
    pub(crate) fn attr(&self, name: &str) -> Option<&'a str> {
        find_attr(self.attrs, name)
    }
}

/// The value of the attribute `name` among `attrs`, as written.
fn find_attr<'a>(attrs: &[Attr<'a>], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.value)
}

/// What a document is cut into, in document order.
pub(crate) trait Sink {
    fn start_tag(&mut self, tag: &StartTag<'_, '_>);
    /// An end tag, its name lower-cased as a start tag's is.
    fn end_tag(&mut self, name: &str);
    /// A whole text node, never empty: the text between two tags (or
    /// comments and the like), or all the content of an RCDATA or raw
    /// text element, as written.
    fn text(&mut self, text: &str);
}

/// SVG and MathML elements nested at most on the namespace stack;
/// deeper ones are counted, not stored (real pages nest a few).
pub(crate) const MAX_FOREIGN_DEPTH: usize = 256;

/// Attributes kept of one start tag (the first of each name); the rest
/// are read past. Real tags have a few dozen at most, and each kept one
/// costs a look at those before it.
const MAX_ATTRS: usize = 512;

/// Tag names longer than this match nothing the scan looks for
/// (`annotation-xml` is the longest, 14).
const NAME_BUFFER: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ns {
    Html,
    Svg,
    MathMl,
}

/// How the text after a start tag is read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Content {
    Markup,
    /// RCDATA or raw text, up to this element's end tag.
    Raw(&'static str),
    Script,
    PlainText,
}

/// Cuts `html` into tokens for `sink`.
pub(crate) fn tokenize(html: &str, sink: &mut impl Sink) {
    Tokenizer {
        html,
        ns: vec![Ns::Html],
        ns_over: 0,
        attrs: Vec::new(),
    }
    .run(sink);
}

struct Tokenizer<'a> {
    html: &'a str,
    /// The namespaces entered, innermost last; never empty.
    ns: Vec<Ns>,
    /// Levels entered past [`MAX_FOREIGN_DEPTH`].
    ns_over: usize,
    /// The current start tag's, reused from tag to tag.
    attrs: Vec<Attr<'a>>,
}

fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// Where a name that starts at `i` ends: at a space, `/`, `>` or the end.
fn name_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !matches!(b[i], b'\t' | b'\n' | b'\x0C' | b'\r' | b' ' | b'/' | b'>') {
        i += 1;
    }
    i
}

/// `raw` lower-cased into `buf`, or `""` when it is not ASCII or does not
/// fit.
fn lower<'b>(raw: &[u8], buf: &'b mut [u8; NAME_BUFFER]) -> &'b str {
    if raw.len() > NAME_BUFFER || !raw.is_ascii() {
        return "";
    }
    let out = &mut buf[..raw.len()];
    out.copy_from_slice(raw);
    out.make_ascii_lowercase();
    std::str::from_utf8(out).unwrap_or("")
}

/// Whether an end tag for `name` (lower case) starts at `p`: `</name`
/// followed by a space, `/` or `>` (at the document's end it is text).
fn is_end_tag(b: &[u8], p: usize, name: &str) -> bool {
    let n = name.len();
    b.get(p..p + 2) == Some(b"</")
        && b.get(p + 2..p + 2 + n)
            .is_some_and(|s| s.eq_ignore_ascii_case(name.as_bytes()))
        && b.get(p + 2 + n)
            .is_some_and(|&c| is_space(c) || c == b'/' || c == b'>')
}

/// Where the content of a raw text or RCDATA element that starts at
/// `from` ends: at its end tag's `<`, or the document's end.
fn raw_end(b: &[u8], from: usize, name: &str) -> usize {
    let mut at = from;
    while let Some(i) = memmem::find(&b[at..], b"</") {
        let p = at + i;
        if is_end_tag(b, p, name) {
            return p;
        }
        at = p + 2;
    }
    b.len()
}

/// Past a run of `-` that starts at `i`: (where it ends, its length).
fn dashes(b: &[u8], i: usize) -> (usize, usize) {
    let n = b[i..].iter().take_while(|&&c| c == b'-').count();
    (i + n, n)
}

/// Where a script's content that starts at `from` ends: at the `<` of
/// the `</script` that closes it, or the document's end. Inside `<!--`
/// a `<script` opens a nested one (double-escaped) whose `</script`
/// does not end the element; `-->` leaves either state.
fn script_end(b: &[u8], from: usize) -> usize {
    #[derive(PartialEq)]
    enum State {
        Data,
        Escaped,
        DoubleEscaped,
    }
    let mut state = State::Data;
    let mut i = from;
    loop {
        if state == State::Data {
            let Some(k) = memchr(b'<', &b[i..]) else {
                return b.len();
            };
            let p = i + k;
            if is_end_tag(b, p, "script") {
                return p;
            }
            if b[p + 1..].starts_with(b"!--") {
                // Entered at two dashes already: `<!-->` leaves at once.
                let (end, _) = dashes(b, p + 2);
                if b.get(end) == Some(&b'>') {
                    i = end + 1;
                } else {
                    state = State::Escaped;
                    i = end;
                }
            } else {
                i = p + 1;
            }
            continue;
        }
        let Some(k) = memchr2(b'-', b'<', &b[i..]) else {
            return b.len();
        };
        let p = i + k;
        if b[p] == b'-' {
            let (end, n) = dashes(b, p);
            if n >= 2 && b.get(end) == Some(&b'>') {
                state = State::Data;
                i = end + 1;
            } else {
                i = end;
            }
            continue;
        }
        // A `<` in an escaped state.
        let closing = b.get(p + 1) == Some(&b'/');
        if state == State::Escaped && closing && is_end_tag(b, p, "script") {
            return p;
        }
        let letters_from = if closing { p + 2 } else { p + 1 };
        let letters_end = letters_from
            + b[letters_from.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
        let is_script = b[letters_from.min(b.len())..letters_end].eq_ignore_ascii_case(b"script")
            && b.get(letters_end)
                .is_some_and(|&c| is_space(c) || c == b'/' || c == b'>');
        if is_script {
            if state == State::Escaped && !closing {
                state = State::DoubleEscaped;
            } else if state == State::DoubleEscaped && closing {
                state = State::Escaped;
            }
        }
        i = (p + 1).max(letters_end);
    }
}

impl<'a> Tokenizer<'a> {
    fn run(&mut self, sink: &mut impl Sink) {
        let b = self.html.as_bytes();
        // Where the current text node began.
        let mut text_from = 0;
        let mut at = 0;
        while let Some(lt) = memchr(b'<', &b[at..]).map(|i| at + i) {
            let (end, content) = match b.get(lt + 1).copied() {
                Some(c) if c.is_ascii_alphabetic() => {
                    let name_to = name_end(b, lt + 1);
                    let Some((end, self_closing)) = self.attributes(name_to, true) else {
                        // Cut off by the end of the document: dropped.
                        return self.flush(sink, text_from, lt);
                    };
                    self.flush(sink, text_from, lt);
                    let content = self.start(sink, &b[lt + 1..name_to], self_closing);
                    (end, content)
                }
                Some(b'/') => match b.get(lt + 2).copied() {
                    Some(c) if c.is_ascii_alphabetic() => {
                        let name_to = name_end(b, lt + 2);
                        let Some((end, _)) = self.attributes(name_to, false) else {
                            return self.flush(sink, text_from, lt);
                        };
                        self.flush(sink, text_from, lt);
                        self.end(sink, &b[lt + 2..name_to]);
                        (end, Content::Markup)
                    }
                    // `</>` is nothing at all.
                    Some(b'>') => {
                        self.flush(sink, text_from, lt);
                        (lt + 3, Content::Markup)
                    }
                    None => break,
                    Some(_) => {
                        self.flush(sink, text_from, lt);
                        (bogus_comment(b, lt + 2), Content::Markup)
                    }
                },
                Some(b'!') => {
                    self.flush(sink, text_from, lt);
                    let rest = &b[lt + 2..];
                    if rest.starts_with(b"--") {
                        (comment(b, lt + 4), Content::Markup)
                    } else if self.foreign() && rest.starts_with(b"[CDATA[") {
                        let from = lt + 9;
                        let (close, end) = match memmem::find(&b[from..], b"]]>") {
                            Some(i) => (from + i, from + i + 3),
                            None => (b.len(), b.len()),
                        };
                        self.flush(sink, from, close);
                        (end, Content::Markup)
                    } else {
                        (bogus_comment(b, lt + 2), Content::Markup)
                    }
                }
                Some(b'?') => {
                    self.flush(sink, text_from, lt);
                    (bogus_comment(b, lt + 1), Content::Markup)
                }
                // A `<` that opens nothing is text.
                _ => {
                    at = lt + 1;
                    continue;
                }
            };
            let content_end = match content {
                Content::Markup => end,
                Content::Raw(name) => raw_end(b, end, name),
                Content::Script => script_end(b, end),
                Content::PlainText => b.len(),
            };
            self.flush(sink, end, content_end);
            at = content_end;
            text_from = content_end;
        }
        self.flush(sink, text_from, b.len());
    }

    /// Hands `sink` the text `from..to`, if any.
    fn flush(&self, sink: &mut impl Sink, from: usize, to: usize) {
        if from < to {
            if let Some(text) = self.html.get(from..to) {
                sink.text(text);
            }
        }
    }

    fn foreign(&self) -> bool {
        self.ns.last() != Some(&Ns::Html)
    }

    fn push_ns(&mut self, ns: Ns) {
        if self.ns.len() < MAX_FOREIGN_DEPTH {
            self.ns.push(ns);
        } else {
            self.ns_over += 1;
        }
    }

    fn pop_ns(&mut self) {
        if self.ns_over > 0 {
            self.ns_over -= 1;
        } else if self.ns.len() > 1 {
            self.ns.pop();
        }
    }

    /// Leaves SVG and MathML content for the nearest HTML (the document,
    /// or an integration point).
    fn break_out(&mut self) {
        self.ns_over = 0;
        while self.foreign() && self.ns.len() > 1 {
            self.ns.pop();
        }
    }

    /// The attributes from `i` (just past the tag's name) to the tag's
    /// end, kept in `self.attrs` when `keep`: (just past the `>`,
    /// whether it was `/>`); `None` when the document ends first.
    fn attributes(&mut self, mut i: usize, keep: bool) -> Option<(usize, bool)> {
        let b = self.html.as_bytes();
        let html = self.html;
        self.attrs.clear();
        loop {
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            match *b.get(i)? {
                b'>' => return Some((i + 1, false)),
                b'/' => {
                    if *b.get(i + 1)? == b'>' {
                        return Some((i + 2, true));
                    }
                    i += 1;
                    continue;
                }
                _ => {}
            }
            // A name may start with `=`.
            let name_from = i;
            i += 1;
            while i < b.len()
                && !matches!(
                    b[i],
                    b'\t' | b'\n' | b'\x0C' | b'\r' | b' ' | b'/' | b'>' | b'='
                )
            {
                i += 1;
            }
            let name_to = i;
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            let mut value = i..i;
            let mut ends = false;
            if *b.get(i)? == b'=' {
                i += 1;
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
                match *b.get(i)? {
                    q @ (b'"' | b'\'') => {
                        let close = i + 1 + memchr(q, &b[i + 1..])?;
                        value = i + 1..close;
                        i = close + 1;
                    }
                    // `name=>`: an empty value, and the tag's end.
                    b'>' => ends = true,
                    _ => {
                        let from = i;
                        while i < b.len() && !is_space(b[i]) && b[i] != b'>' {
                            i += 1;
                        }
                        if i == b.len() {
                            return None;
                        }
                        value = from..i;
                    }
                }
            }
            if keep && self.attrs.len() < MAX_ATTRS {
                let name = html.get(name_from..name_to).unwrap_or("");
                let value = html.get(value).unwrap_or("");
                if find_attr(&self.attrs, name).is_none() {
                    self.attrs.push(Attr { name, value });
                }
            }
            if ends {
                return Some((i + 1, false));
            }
        }
    }

    /// A start tag named `raw`: the namespaces it enters or leaves, then
    /// `sink`; what its content is.
    fn start(&mut self, sink: &mut impl Sink, raw: &[u8], self_closing: bool) -> Content {
        let mut buf = [0; NAME_BUFFER];
        let name = lower(raw, &mut buf);
        let content = self.start_content(name, self_closing);
        sink.start_tag(&StartTag {
            name,
            attrs: &self.attrs,
        });
        content
    }

    fn start_content(&mut self, name: &str, self_closing: bool) -> Content {
        match name {
            "svg" | "math" => {
                if !self_closing {
                    self.push_ns(if name == "svg" { Ns::Svg } else { Ns::MathMl });
                }
                return Content::Markup;
            }
            _ => {}
        }
        match self.ns.last() {
            Some(Ns::Html) | None => {}
            Some(&ns) => {
                if self.breaks_out(name) {
                    self.break_out();
                } else if !self_closing && self.enters_html(ns, name) {
                    self.push_ns(Ns::Html);
                    return Content::Markup;
                } else {
                    return Content::Markup;
                }
            }
        }
        match name {
            "title" => Content::Raw("title"),
            "textarea" => Content::Raw("textarea"),
            "style" => Content::Raw("style"),
            "noscript" => Content::Raw("noscript"),
            "iframe" => Content::Raw("iframe"),
            "xmp" => Content::Raw("xmp"),
            "noembed" => Content::Raw("noembed"),
            "noframes" => Content::Raw("noframes"),
            "script" => Content::Script,
            "plaintext" => Content::PlainText,
            _ => Content::Markup,
        }
    }

    /// The HTML start tags that end SVG and MathML content.
    fn breaks_out(&self, name: &str) -> bool {
        matches!(
            name,
            "b" | "big"
                | "blockquote"
                | "body"
                | "br"
                | "center"
                | "code"
                | "dd"
                | "div"
                | "dl"
                | "dt"
                | "em"
                | "embed"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "head"
                | "hr"
                | "i"
                | "img"
                | "li"
                | "listing"
                | "menu"
                | "meta"
                | "nobr"
                | "ol"
                | "p"
                | "pre"
                | "ruby"
                | "s"
                | "small"
                | "span"
                | "strong"
                | "strike"
                | "sub"
                | "sup"
                | "table"
                | "tt"
                | "u"
                | "ul"
                | "var"
        ) || (name == "font"
            && ["color", "face", "size"]
                .iter()
                .any(|a| find_attr(&self.attrs, a).is_some()))
    }

    /// Whether the start tag `name` in `ns` content is an integration
    /// point, whose content is HTML.
    fn enters_html(&self, ns: Ns, name: &str) -> bool {
        match ns {
            Ns::Svg => matches!(name, "foreignobject" | "desc" | "title"),
            Ns::MathMl => {
                matches!(name, "mi" | "mo" | "mn" | "ms" | "mtext")
                    || name == "annotation-xml"
                        && find_attr(&self.attrs, "encoding").is_some_and(|e| {
                            e.eq_ignore_ascii_case("text/html")
                                || e.eq_ignore_ascii_case("application/xhtml+xml")
                        })
            }
            Ns::Html => false,
        }
    }

    /// An end tag named `raw`: the namespace it leaves, then `sink`.
    fn end(&mut self, sink: &mut impl Sink, raw: &[u8]) {
        let mut buf = [0; NAME_BUFFER];
        let name = lower(raw, &mut buf);
        match self.ns.last() {
            Some(Ns::Svg) if name == "svg" => self.pop_ns(),
            Some(Ns::MathMl) if name == "math" => self.pop_ns(),
            Some(Ns::Svg | Ns::MathMl) if name == "p" || name == "br" => self.break_out(),
            Some(Ns::Html) if self.ns.len() >= 2 && self.ns_over == 0 => {
                let closes_point = match self.ns[self.ns.len() - 2] {
                    Ns::Svg => matches!(name, "foreignobject" | "desc" | "title"),
                    Ns::MathMl => {
                        matches!(name, "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml")
                    }
                    Ns::Html => false,
                };
                if closes_point {
                    self.ns.pop();
                }
            }
            _ => {}
        }
        sink.end_tag(name);
    }
}

/// Past a comment whose text starts at `i` (just after `<!--`): after
/// `-->`, `--!>`, the `>` of `<!-->` or `<!--->`, or at the end.
fn comment(b: &[u8], i: usize) -> usize {
    let rest = &b[i.min(b.len())..];
    if rest.starts_with(b">") {
        return i + 1;
    }
    if rest.starts_with(b"->") {
        return i + 2;
    }
    let mut j = i;
    while let Some(k) = memmem::find(&b[j.min(b.len())..], b"--") {
        let (end, _) = dashes(b, j + k);
        match b.get(end) {
            Some(b'>') => return end + 1,
            Some(b'!') if b.get(end + 1) == Some(&b'>') => return end + 2,
            None => return b.len(),
            Some(_) => j = end,
        }
    }
    b.len()
}

/// Past a bogus comment (or doctype) whose text starts at `i`: after the
/// next `>`, or at the end.
fn bogus_comment(b: &[u8], i: usize) -> usize {
    match memchr(b'>', &b[i.min(b.len())..]) {
        Some(k) => i + k + 1,
        None => b.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens as text: `<name attr=value…>`, `</name>`, `"text"`.
    #[derive(Default)]
    struct Record(Vec<String>);

    impl Sink for Record {
        fn start_tag(&mut self, tag: &StartTag<'_, '_>) {
            let attrs: String = tag
                .attrs
                .iter()
                .map(|a| format!(" {}={}", a.name, a.value))
                .collect();
            self.0.push(format!("<{}{attrs}>", tag.name));
        }
        fn end_tag(&mut self, name: &str) {
            self.0.push(format!("</{name}>"));
        }
        fn text(&mut self, text: &str) {
            assert!(!text.is_empty());
            self.0.push(format!("{text:?}"));
        }
    }

    fn tokens(html: &str) -> Vec<String> {
        let mut r = Record::default();
        tokenize(html, &mut r);
        r.0
    }

    #[test]
    fn comments_end_where_the_standard_ends_them() {
        assert_eq!(tokens("<!-->a"), ["\"a\""]);
        assert_eq!(tokens("<!--->a"), ["\"a\""]);
        assert_eq!(tokens("<!-- <b> -- - --->a"), ["\"a\""]);
        assert_eq!(tokens("<!-- x --!>a"), ["\"a\""]);
        assert_eq!(tokens("<!-- x --!-->a"), ["\"a\""]);
        assert_eq!(tokens("<!-- never closed <b>"), Vec::<String>::new());
        assert_eq!(tokens("<!doctype html><?xml x?><!x>a"), ["\"a\""]);
        assert_eq!(tokens("</ not a tag>a</>b"), ["\"a\"", "\"b\""]);
    }

    #[test]
    fn attributes_are_read_as_written_and_the_first_of_a_name_wins() {
        assert_eq!(
            tokens("<A HREF = \"/x>y\" title='a\"b' Href=/dup data-x=1/2 empty =x>"),
            ["<a HREF=/x>y title=a\"b data-x=1/2 empty=x>"]
        );
        assert_eq!(tokens("<a/href=/s/>"), ["<a href=/s/>"]);
        assert_eq!(tokens("<a href=>t"), ["<a href=>", "\"t\""]);
        assert_eq!(tokens("<a b c=d>"), ["<a b= c=d>"]);
        assert_eq!(tokens("<a href=\"x\"title=t>"), ["<a href=x title=t>"]);
    }

    #[test]
    fn a_tag_cut_off_by_the_end_is_dropped_and_a_lone_lt_is_text() {
        assert_eq!(tokens("a<b href=\"/cut"), ["\"a\""]);
        assert_eq!(tokens("a<b href=/cut"), ["\"a\""]);
        assert_eq!(tokens("a</b"), ["\"a\""]);
        assert_eq!(tokens("a < b <3 </"), ["\"a < b <3 </\""]);
    }

    #[test]
    fn raw_text_runs_to_its_own_end_tag() {
        assert_eq!(
            tokens("<style><a href=/x></STYLE >b"),
            ["<style>", "\"<a href=/x>\"", "</style>", "\"b\""]
        );
        assert_eq!(
            tokens("<title>a</titles></title>"),
            ["<title>", "\"a</titles>\"", "</title>"]
        );
        // `</style` at the very end is text.
        assert_eq!(tokens("<style>x</style"), ["<style>", "\"x</style\""]);
        assert_eq!(
            tokens("<textarea><!-- </textarea> -->"),
            ["<textarea>", "\"<!-- \"", "</textarea>", "\" -->\""]
        );
        assert_eq!(
            tokens("<plaintext></plaintext><a>"),
            ["<plaintext>", "\"</plaintext><a>\""]
        );
    }

    #[test]
    fn a_script_ends_at_its_end_tag_outside_an_escaped_nested_script() {
        assert_eq!(
            tokens("<script>a='</p>'</script>b"),
            ["<script>", "\"a='</p>'\"", "</script>", "\"b\""]
        );
        // Inside `<!--`, `<script>` opens a nested one: its `</script>`
        // does not end the element; after `-->` the next one does.
        let doc = "<script><!--<script></script><a href=/no>--></script><a href=/yes>";
        assert_eq!(
            tokens(doc),
            [
                "<script>",
                "\"<!--<script></script><a href=/no>-->\"",
                "</script>",
                "<a href=/yes>"
            ]
        );
        // Escaped only: its `</script>` ends the element.
        assert_eq!(
            tokens("<script><!-- x </script><a>"),
            ["<script>", "\"<!-- x \"", "</script>", "<a>"]
        );
        // `<!-->` leaves the escape at once.
        assert_eq!(
            tokens("<script><!--><script></script>"),
            ["<script>", "\"<!--><script>\"", "</script>"]
        );
    }

    #[test]
    fn svg_and_math_have_no_raw_text_but_cdata_and_html_start_tags_leave_them() {
        assert_eq!(
            tokens("<svg><style><a href=/x></style></svg><style><a></style>"),
            [
                "<svg>",
                "<style>",
                "<a href=/x>",
                "</style>",
                "</svg>",
                "<style>",
                "\"<a>\"",
                "</style>"
            ]
        );
        assert_eq!(
            tokens("<svg><![CDATA[<a href=/x>]]></svg><![CDATA[<b>]]>"),
            ["<svg>", "\"<a href=/x>\"", "</svg>", "\"]]>\""]
        );
        // An HTML start tag leaves every namespace entered, as the
        // standard says (lol_html leaves one).
        assert_eq!(
            tokens("<svg><math><table><title><b></title>"),
            ["<svg>", "<math>", "<table>", "<title>", "\"<b>\"", "</title>"]
        );
        // `<font>` leaves only with color, face or size.
        assert_eq!(tokens("<svg><font><style><i>")[3], "<i>");
        assert_eq!(tokens("<svg><font size=2><style><i>")[3], "\"<i>\"");
        // A self-closing `<svg/>` enters nothing.
        assert_eq!(tokens("<svg/><style><i>")[2], "\"<i>\"");
    }

    #[test]
    fn integration_points_hold_html_until_they_end() {
        let doc = "<svg><foreignObject><style><i></style></foreignObject><style><b></style>";
        assert_eq!(
            tokens(doc),
            [
                "<svg>",
                "<foreignobject>",
                "<style>",
                "\"<i>\"",
                "</style>",
                "</foreignobject>",
                "<style>",
                "<b>",
                "</style>"
            ]
        );
        let math = "<math><annotation-xml encoding=text/html><style><i>";
        assert_eq!(tokens(math)[3], "\"<i>\"");
        assert_eq!(tokens("<math><annotation-xml><style><i>")[3], "<i>");
    }

    #[test]
    fn namespaces_nested_past_the_bound_are_counted_and_left_in_turn() {
        let depth = MAX_FOREIGN_DEPTH * 3;
        let mut doc = "<svg>".repeat(depth);
        doc.push_str(&"</svg>".repeat(depth - 1));
        doc.push_str("<style><i>");
        assert!(tokens(&doc).last().unwrap() == "<i>", "still in SVG");
        doc.push_str("</svg><style><b>");
        assert_eq!(tokens(&doc).last().unwrap(), "\"<b>\"");
    }

    #[test]
    fn a_tag_with_a_great_many_attributes_keeps_the_first_ones_only() {
        let mut doc = String::from("<a href=/kept");
        for i in 0..100_000 {
            doc.push_str(&format!(" a{i}=x"));
        }
        doc.push_str(" rel=late>after");
        let mut r = Record::default();
        tokenize(&doc, &mut r);
        assert!(r.0[0].starts_with("<a href=/kept a0=x"));
        assert!(!r.0[0].contains("rel=late"));
        assert_eq!(r.0[0].matches('=').count(), MAX_ATTRS);
        assert_eq!(r.0[1], "\"after\"");
    }

    #[test]
    fn names_not_ascii_or_long_are_tags_that_match_nothing() {
        assert_eq!(
            tokens("<aé href=/u><averyveryverylongtagname x=1>"),
            ["< href=/u>", "< x=1>"]
        );
        // A tag's name starts with an ASCII letter; else `<` is text.
        assert_eq!(tokens("<é>"), ["\"<é>\""]);
    }
}
