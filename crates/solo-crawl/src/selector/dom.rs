//! scraper's parsed document seen as an XPath 1.0 tree.
//!
//! Owns: the [`xpath_eval::Node`] view of a [`scraper::Html`] (the same
//! DOM CSS selection uses: one parse serves both), its document order,
//! and the work budget that stops a costly expression on a big page.
//! Must not: parse HTML or expressions, or decide what results mean.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;

use ego_tree::NodeId;
use scraper::{Html, Node as Dom};
use xpath_eval::{ExpandedName, Node, NodeKind};

/// Node visits one evaluation may make (children, parents, attributes,
/// text gathered for a string value): about a tenth of a second of work,
/// and what bounds the memory of the node-sets an expression builds.
pub(crate) const BUDGET: u32 = 4_000_000;

/// The pseudo-namespace a name test's prefix is given (`dc` becomes
/// `urn:solo-crawl:prefix:dc`): documents are read without namespaces, so
/// a prefixed test matches by local name.
pub(crate) const PREFIX_URI: &str = "urn:solo-crawl:prefix:";

/// What XPath needs of a document beyond scraper's tree: document order
/// (html5ever creates nodes in document order except where it moves
/// them, e.g. content fostered out of a `<table>`), and the work budget.
pub(crate) struct Index {
    /// The preorder position of each node, when creation order is not
    /// document order (`None`: node ids compare in document order).
    order: Option<HashMap<NodeId, u32>>,
    left: Cell<u32>,
    exhausted: Cell<bool>,
}

impl Index {
    pub(crate) fn of(html: &Html) -> Index {
        let mut last = None;
        let mut in_order = true;
        let preorder = html.tree.root().descendants().map(|n| n.id());
        let ids: Vec<NodeId> = preorder.collect();
        for &id in &ids {
            if last.is_some_and(|l| l >= id) {
                in_order = false;
                break;
            }
            last = Some(id);
        }
        let order = (!in_order).then(|| ids.iter().zip(0..).map(|(&id, i)| (id, i)).collect());
        Index {
            order,
            left: Cell::new(BUDGET),
            exhausted: Cell::new(false),
        }
    }

    /// A fresh budget for one evaluation.
    pub(crate) fn start(&self, budget: u32) {
        self.left.set(budget);
        self.exhausted.set(false);
    }

    /// Whether the last evaluation ran out of budget.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted.get()
    }

    /// Takes one visit from the budget; false once it is spent.
    fn spend(&self) -> bool {
        match self.left.get() {
            0 => {
                self.exhausted.set(true);
                false
            }
            n => {
                self.left.set(n - 1);
                true
            }
        }
    }

    fn position(&self, id: NodeId) -> u32 {
        self.order
            .as_ref()
            .and_then(|o| o.get(&id).copied())
            .unwrap_or(0)
    }
}

/// A node of the document: an element, text, comment, processing
/// instruction or the root, or (`attr > 0`) the element's attribute
/// number `attr - 1`.
#[derive(Clone, Copy)]
pub(crate) struct XNode<'a> {
    pub(crate) html: &'a Html,
    pub(crate) index: &'a Index,
    pub(crate) id: NodeId,
    pub(crate) attr: u32,
}

impl PartialEq for XNode<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.attr == other.attr && std::ptr::eq(self.html, other.html)
    }
}

impl Eq for XNode<'_> {}

impl<'a> XNode<'a> {
    pub(crate) fn root(html: &'a Html, index: &'a Index) -> XNode<'a> {
        XNode::at(html, index, html.tree.root().id())
    }

    pub(crate) fn at(html: &'a Html, index: &'a Index, id: NodeId) -> XNode<'a> {
        XNode {
            html,
            index,
            id,
            attr: 0,
        }
    }

    fn with(self, id: NodeId) -> XNode<'a> {
        XNode {
            id,
            attr: 0,
            ..self
        }
    }

    pub(crate) fn dom(self) -> ego_tree::NodeRef<'a, Dom> {
        // Ids come from this very tree: `get` finds them.
        self.html
            .tree
            .get(self.id)
            .unwrap_or_else(|| self.html.tree.root())
    }

    /// The attribute's name and value.
    fn attribute(self) -> Option<(&'a str, &'a str)> {
        let i = self.attr.checked_sub(1)?;
        self.dom().value().as_element()?.attrs().nth(i as usize)
    }

    /// The text of a node that has its own (attribute, text, comment,
    /// processing instruction); `None` for elements and the root.
    pub(crate) fn own_text(self) -> Option<&'a str> {
        if self.attr > 0 {
            return self.attribute().map(|(_, v)| v);
        }
        match self.dom().value() {
            Dom::Text(t) => Some(&t.text),
            Dom::Comment(c) => Some(&c.comment),
            Dom::ProcessingInstruction(p) => Some(&p.data),
            _ => None,
        }
    }
}

impl<'a> Node<'a> for XNode<'a> {
    fn kind(self) -> NodeKind {
        if self.attr > 0 {
            return NodeKind::Attribute;
        }
        match self.dom().value() {
            Dom::Document | Dom::Fragment => NodeKind::Root,
            Dom::Element(_) => NodeKind::Element,
            Dom::Text(_) => NodeKind::Text,
            Dom::Comment(_) => NodeKind::Comment,
            Dom::ProcessingInstruction(_) => NodeKind::ProcessingInstruction,
            // Never handed out: `children` skips it.
            Dom::Doctype(_) => NodeKind::Comment,
        }
    }

    fn parent(self) -> Option<Self> {
        if !self.index.spend() {
            return None;
        }
        if self.attr > 0 {
            return Some(self.with(self.id));
        }
        self.dom().parent().map(|p| self.with(p.id()))
    }

    fn children(self) -> impl Iterator<Item = Self> + 'a {
        let kids = (self.attr == 0).then(|| self.dom().children());
        kids.into_iter()
            .flatten()
            .take_while(move |_| self.index.spend())
            .filter(|c| !matches!(c.value(), Dom::Doctype(_)))
            .map(move |c| self.with(c.id()))
    }

    fn attributes(self) -> impl Iterator<Item = Self> + 'a {
        let n = match self.dom().value() {
            Dom::Element(e) if self.attr == 0 => e.attrs().count() as u32,
            _ => 0,
        };
        (1..=n)
            .take_while(move |_| self.index.spend())
            .map(move |attr| XNode { attr, ..self })
    }

    fn namespaces(self) -> impl Iterator<Item = Self> + 'a {
        std::iter::empty()
    }

    fn expanded_name(self) -> Option<ExpandedName> {
        let local = if self.attr > 0 {
            self.attribute()?.0
        } else {
            match self.dom().value() {
                Dom::Element(e) => e.name(),
                Dom::ProcessingInstruction(p) => &p.target,
                _ => return None,
            }
        };
        // As in lxml's HTML documents (Scrapy's): no namespaces, so
        // `//div` and `//svg` match without a prefix.
        Some(ExpandedName {
            namespace_uri: None,
            local_name: local.to_owned(),
        })
    }

    fn has_expanded_name(self, namespace_uri: Option<&str>, local_name: &str) -> bool {
        // A prefixed test (see `PREFIX_URI`) matches the local name, or,
        // in HTML, where html5ever keeps `dc:creator` whole, the prefixed
        // name as written.
        let prefix = match namespace_uri {
            None => None,
            Some(uri) => match uri.strip_prefix(PREFIX_URI) {
                Some(p) => Some(p),
                None => return false,
            },
        };
        let is = |name: &str| {
            name == local_name
                || prefix.is_some_and(|p| {
                    name.strip_prefix(p).and_then(|rest| rest.strip_prefix(':')) == Some(local_name)
                })
        };
        if self.attr > 0 {
            return self.attribute().is_some_and(|(n, _)| is(n));
        }
        match self.dom().value() {
            Dom::Element(e) => is(e.name()),
            Dom::ProcessingInstruction(p) => is(&p.target),
            _ => false,
        }
    }

    fn is_id_attribute(self) -> bool {
        // HTML's `id` (and XML's `xml:id`, read without its prefix):
        // `id('main')` finds the element, as in lxml and browsers.
        self.attr > 0
            && self
                .attribute()
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case("id"))
    }

    fn string_value(self) -> String {
        self.with_string_value(str::to_owned)
    }

    fn with_string_value<R>(self, f: impl FnOnce(&str) -> R) -> R {
        if let Some(t) = self.own_text() {
            return f(t);
        }
        let mut s = String::new();
        for d in self.dom().descendants() {
            if !self.index.spend() {
                break;
            }
            if let Dom::Text(t) = d.value() {
                s.push_str(&t.text);
            }
        }
        f(&s)
    }

    fn document_order(self, other: Self) -> Ordering {
        let by_node = match self.index.order {
            None => self.id.cmp(&other.id),
            Some(_) => {
                let (a, b) = (self.index.position(self.id), self.index.position(other.id));
                a.cmp(&b)
            }
        };
        by_node.then(self.attr.cmp(&other.attr))
    }
}
