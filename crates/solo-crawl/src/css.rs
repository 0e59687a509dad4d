//! CSS selectors as spiders and the form helper write them.
//!
//! Owns: parsing a selector, and for one that does not parse a one-line
//! error naming it, where it goes wrong and what is wrong (scraper's own
//! error is, for many typos, a multi-line dump asking to report a bug).
//! Must not: select anything.

use cssparser::{BasicParseErrorKind, ParseErrorKind, ParserInput, ToCss, Token};
use scraper::Selector;
use selectors::parser::{ParseRelative, SelectorList, SelectorParseErrorKind as Kind};

/// `css` parsed, or what is wrong with it in one line: the selector
/// quoted, the column, and the fault.
pub(crate) fn parse(css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|_| describe(css))
}

/// Re-parses a selector scraper refused, for its position and fault.
fn describe(css: &str) -> String {
    let mut input = ParserInput::new(css);
    let mut parser = cssparser::Parser::new(&mut input);
    let parsed = SelectorList::parse(&scraper::selector::Parser, &mut parser, ParseRelative::No);
    let Err(e) = parsed else {
        // Not expected: scraper parses with this very parser.
        return format!("{css:?}: not a selector scraper accepts");
    };
    let at = match e.location.line {
        0 => format!("column {}", e.location.column),
        l => format!("line {}, column {}", l + 1, e.location.column),
    };
    let fault = match e.kind {
        ParseErrorKind::Basic(b) => basic(b),
        ParseErrorKind::Custom(c) => custom(c),
    };
    format!("{css:?} at {at}: {fault}")
}

fn token(t: &Token<'_>) -> String {
    match t {
        Token::WhiteSpace(_) => "a space".into(),
        t => format!("'{}'", t.to_css_string()),
    }
}

fn basic(b: BasicParseErrorKind<'_>) -> String {
    match b {
        BasicParseErrorKind::UnexpectedToken(t) => format!("{} is not expected here", token(&t)),
        BasicParseErrorKind::EndOfInput => "it ends too soon".into(),
        BasicParseErrorKind::AtRuleInvalid(_)
        | BasicParseErrorKind::AtRuleBodyInvalid
        | BasicParseErrorKind::QualifiedRuleInvalid => "not a selector".into(),
    }
}

fn custom(c: Kind<'_>) -> String {
    match c {
        Kind::NoQualifiedNameInAttributeSelector(t) | Kind::InvalidQualNameInAttr(t) => {
            format!("an attribute selector needs a name, found {}", token(&t))
        }
        Kind::EmptySelector => "an empty selector".into(),
        Kind::DanglingCombinator => "a combinator with nothing after it".into(),
        Kind::NonCompoundSelector => "only a simple selector is allowed here".into(),
        Kind::NonPseudoElementAfterSlotted
        | Kind::InvalidPseudoElementAfterSlotted
        | Kind::InvalidPseudoElementInsideWhere
        | Kind::InvalidState => "a pseudo-element not allowed here".into(),
        Kind::UnexpectedTokenInAttributeSelector(t) | Kind::ExpectedBarInAttr(t) => {
            format!("{} is not expected in an attribute selector", token(&t))
        }
        Kind::BadValueInAttr(t) => format!(
            "an attribute value must be a name or a quoted string, found {}",
            token(&t)
        ),
        Kind::PseudoElementExpectedColon(t)
        | Kind::PseudoElementExpectedIdent(t)
        | Kind::NoIdentForPseudo(t) => {
            format!("a pseudo-class needs a name after ':', found {}", token(&t))
        }
        Kind::UnsupportedPseudoClassOrElement(name) => {
            format!("unsupported pseudo-class or pseudo-element :{name}")
        }
        Kind::UnexpectedIdent(name) => format!("unexpected name {name:?}"),
        Kind::ExpectedNamespace(prefix) => format!("unknown namespace prefix {prefix:?}"),
        Kind::ExplicitNamespaceUnexpectedToken(t) => {
            format!("{} is not expected after a namespace", token(&t))
        }
        Kind::ClassNeedsIdent(t) => {
            format!("a class needs a name after '.', found {}", token(&t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(css: &str) -> String {
        parse(css).err().unwrap()
    }

    #[test]
    fn a_bad_selector_is_one_line_naming_it_where_and_what() {
        for (css, want) in [
            (
                "a[[",
                r#""a[[" at column 3: an attribute selector needs a name, found '['"#,
            ),
            (
                "form[[[",
                r#""form[[[" at column 6: an attribute selector needs a name, found '['"#,
            ),
            ("p[", r#""p[" at column 3: it ends too soon"#),
            (
                "div >",
                r#""div >" at column 6: a combinator with nothing after it"#,
            ),
            (
                "a:nosuch",
                r#""a:nosuch" at column 3: unsupported pseudo-class or pseudo-element :nosuch"#,
            ),
            ("", r#""" at column 1: an empty selector"#),
            ("a]", r#""a]" at column 2: ']' is not expected here"#),
            ("li.", r#""li." at column 4: it ends too soon"#),
            (
                "a[x=1 2]",
                r#""a[x=1 2]" at column 5: an attribute value must be a name or a quoted string, found '1'"#,
            ),
        ] {
            let e = error(css);
            assert_eq!(e, want, "for {css:?}");
            assert!(!e.contains('\n') && !e.contains("report"));
        }
        assert!(parse("ul > li.item:nth-child(2) a[href^=http]").is_ok());
    }
}
