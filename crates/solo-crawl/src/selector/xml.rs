//! XML bodies (feeds, sitemaps) in the DOM type HTML gets, for XPath.
//!
//! Owns: which responses are XML (by `Content-Type`), and scraper's tree
//! built from quick-xml's events: elements and attributes by local name
//! (namespace declarations left out, as after Scrapy's
//! `remove_namespaces()`), text with CDATA and references, comments,
//! processing instructions. Recovers from what is not well-formed as far
//! as quick-xml reads on: an end tag closes up to its open element among
//! the innermost [`CLOSE_WITHIN`], one that matches none of them is
//! ignored, and the document ends at an error quick-xml cannot pass.
//! Linear in the body whatever its nesting (xml5ever, the other DOM
//! builder for scraper's tree, took 9 s for 100,000 nested elements).
//! Must not: evaluate expressions, or expand entities a document declares.

use html5ever::tendril::StrTendril;
use html5ever::tree_builder::{ElementFlags, NodeOrText, TreeSink};
use html5ever::{namespace_url, ns, Attribute, LocalName, QualName};
use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;
use scraper::{Html, HtmlTreeSink};

/// How far down the open elements an end tag looks for its own.
const CLOSE_WITHIN: usize = 64;

/// Whether `content_type` says XML: `text/xml`, `application/xml`, or a
/// `+xml` type other than XHTML (which is read as HTML).
pub(crate) fn is_xml(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or("").trim();
    let is = |m: &str| mime.eq_ignore_ascii_case(m);
    let plus_xml = mime.len() > 4 && mime[mime.len() - 4..].eq_ignore_ascii_case("+xml");
    is("text/xml") || is("application/xml") || (plus_xml && !is("application/xhtml+xml"))
}

/// `text` as a document tree.
pub(crate) fn parse(text: &str) -> Html {
    let sink = HtmlTreeSink::new(Html::new_document());
    let mut open = vec![(sink.get_document(), String::new())];
    let mut reader = quick_xml::Reader::from_str(text);
    let config = reader.config_mut();
    config.allow_dangling_amp = true;
    config.allow_unmatched_ends = true;
    config.check_end_names = false;
    loop {
        let parent = open.last().map_or_else(|| sink.get_document(), |o| o.0);
        let add = |child| sink.append(&parent, child);
        let text = |t: &str| add(NodeOrText::AppendText(StrTendril::from(t)));
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let el = element(&sink, &e);
                add(NodeOrText::AppendNode(el));
                open.push((el, e.local_name().as_ref().to_owned()));
            }
            Ok(Event::Empty(e)) => add(NodeOrText::AppendNode(element(&sink, &e))),
            Ok(Event::End(e)) => {
                let name = e.local_name();
                let inner = open.len().saturating_sub(CLOSE_WITHIN).max(1);
                if let Some(i) = open[inner..].iter().rposition(|o| o.1 == name.as_ref()) {
                    open.truncate(inner + i);
                }
            }
            Ok(Event::Text(t)) => text(&t.xml10_content()),
            Ok(Event::CData(t)) => text(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => text(&crate::sitemap::reference(&r)),
            Ok(Event::Comment(c)) => {
                add(NodeOrText::AppendNode(
                    sink.create_comment(c.xml10_content().as_ref().into()),
                ));
            }
            Ok(Event::PI(p)) => {
                let pi = sink.create_pi(p.target().into(), p.content().trim().into());
                add(NodeOrText::AppendNode(pi));
            }
            Ok(Event::Decl(_) | Event::DocType(_)) => {}
            Ok(Event::Eof) | Err(_) => break,
        }
    }
    sink.finish()
}

/// An element for start tag `e`, named by its local name.
fn element(sink: &HtmlTreeSink, e: &BytesStart<'_>) -> ego_tree::NodeId {
    let attrs = e
        .attributes()
        .with_checks(false)
        .flatten()
        .filter(|a| {
            let key = a.key.as_ref();
            key != "xmlns" && !key.starts_with("xmlns:")
        })
        .map(|a| Attribute {
            name: local(a.key.local_name().as_ref()),
            value: a
                .normalized_value(XmlVersion::Implicit1_0)
                .unwrap_or_else(|_| a.value.clone())
                .as_ref()
                .into(),
        })
        .collect();
    sink.create_element(
        local(e.local_name().as_ref()),
        attrs,
        ElementFlags::default(),
    )
}

fn local(name: &str) -> QualName {
    QualName::new(None, ns!(), LocalName::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_content_types() {
        for ct in [
            "text/xml",
            "application/xml; charset=utf-8",
            "application/rss+xml",
            "application/Atom+XML",
        ] {
            assert!(is_xml(Some(ct)), "{ct}");
        }
        for ct in [
            "text/html",
            "application/xhtml+xml",
            "application/json",
            "xml",
        ] {
            assert!(!is_xml(Some(ct)), "{ct}");
        }
        assert!(!is_xml(None));
    }
}
