//! The controls a form submits, and what each sends, as HTML's
//! "constructing the entry list" says a browser does.
//!
//! Owns: which controls belong to a form (those inside it, and those
//! anywhere with `form="its id"`; a control whose `form` names something
//! else belongs to no form), which are disabled (their own `disabled`,
//! or inside a `<fieldset disabled>` but not in its first `<legend>`),
//! which buttons submit it, each control's value (a select's selected
//! options, else its first enabled one; a hidden `_charset_`'s is the
//! form's encoding), and newlines as CRLF in what a
//! form-urlencoded body or query sends.
//! Must not: pick the form, resolve its action or build the request
//! (the parent module does).

use encoding_rs::Encoding;
use scraper::{ElementRef, Html};

use super::sel;

/// The element `form="id"` names: the first element with that id, if it
/// is a form.
fn named_form<'a>(html: &'a Html, id: &str) -> Option<ElementRef<'a>> {
    html.select(&sel("[id]"))
        .find(|e| e.value().attr("id") == Some(id))
        .filter(|e| e.value().name() == "form")
}

/// The form `e` is, or belongs to: for a control with a `form`
/// attribute, the form it names; else the form around it.
pub(super) fn form_owner<'a>(html: &'a Html, e: ElementRef<'a>) -> Option<ElementRef<'a>> {
    const CONTROLS: [&str; 7] = [
        "input", "select", "textarea", "button", "fieldset", "object", "output",
    ];
    match e.value().attr("form") {
        Some(id) if CONTROLS.contains(&e.value().name()) => named_form(html, id),
        _ => std::iter::once(e)
            .chain(e.ancestors().filter_map(ElementRef::wrap))
            .find(|a| a.value().name() == "form"),
    }
}

/// The controls (matching `css`) that belong to `form`, in document
/// order.
fn controls<'a>(html: &'a Html, form: ElementRef<'a>, css: &str) -> Vec<ElementRef<'a>> {
    // Looked up once, not for each control with a `form` attribute.
    let id = form
        .value()
        .attr("id")
        .filter(|id| named_form(html, id).is_some_and(|f| f.id() == form.id()));
    html.select(&sel(css))
        .filter(|c| match c.value().attr("form") {
            Some(f) => Some(f) == id,
            None => form_owner(html, *c).is_some_and(|f| f.id() == form.id()),
        })
        .collect()
}

/// Whether a control is disabled: its own `disabled`, or a
/// `<fieldset disabled>` around it (unless it is in that fieldset's first
/// `<legend>` child).
fn disabled(control: ElementRef<'_>) -> bool {
    if control.value().attr("disabled").is_some() {
        return true;
    }
    let mut child = control;
    for a in control.ancestors().filter_map(ElementRef::wrap) {
        if a.value().name() == "fieldset" && a.value().attr("disabled").is_some() {
            let first_legend = a
                .children()
                .filter_map(ElementRef::wrap)
                .find(|c| c.value().name() == "legend");
            if first_legend.is_none_or(|l| l.id() != child.id()) {
                return true;
            }
        }
        child = a;
    }
    false
}

/// The buttons that can submit the form, enabled, in document order:
/// `<input type=submit|image>`, and `<button>` of type submit (its
/// default).
pub(super) fn submit_buttons<'a>(html: &'a Html, form: ElementRef<'a>) -> Vec<ElementRef<'a>> {
    controls(html, form, "input, button")
        .into_iter()
        .filter(|e| !disabled(*e))
        .filter(|e| {
            let t = e.value().attr("type").unwrap_or("").to_ascii_lowercase();
            match e.value().name() {
                "button" => t.is_empty() || t == "submit",
                _ => t == "submit" || t == "image",
            }
        })
        .collect()
}

/// An `<option>` is disabled by its own `disabled` or its `<optgroup>`'s.
fn option_disabled(o: ElementRef<'_>) -> bool {
    o.value().attr("disabled").is_some()
        || o.parent()
            .and_then(ElementRef::wrap)
            .is_some_and(|p| p.value().name() == "optgroup" && p.value().attr("disabled").is_some())
}

/// What a `<select>` sends: its selected options that are enabled, or
/// when none has `selected` and it is not `multiple`, its first enabled
/// option (a browser's default).
fn select_values(select: ElementRef<'_>) -> Vec<String> {
    let options: Vec<ElementRef<'_>> = select.select(&sel("option")).collect();
    let selected: Vec<ElementRef<'_>> = options
        .iter()
        .copied()
        .filter(|o| o.value().attr("selected").is_some())
        .collect();
    let chosen: Vec<ElementRef<'_>> = if select.value().attr("multiple").is_some() {
        selected
    } else {
        // One shown: the last `selected`, else the first enabled.
        selected
            .last()
            .or(options.iter().find(|o| !option_disabled(**o)))
            .into_iter()
            .copied()
            .collect()
    };
    chosen
        .into_iter()
        .filter(|o| !option_disabled(*o))
        .map(|o| {
            o.value()
                .attr("value")
                .map(str::to_owned)
                .unwrap_or_else(|| o.text().collect::<String>().trim().to_owned())
        })
        .collect()
}

/// The text fields a submit sends, in document order (buttons and file
/// inputs left out).
#[cfg(test)]
pub(super) fn fields<'a>(html: &'a Html, form: ElementRef<'a>) -> Vec<(String, String)> {
    entries(html, form, encoding_rs::UTF_8)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Text(k, v) => Some((k, v)),
            Entry::File(_) => None,
        })
        .collect()
}

/// One entry of a form's submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// A name and its value.
    Text(String, String),
    /// A file input of this name (no file chosen, unless the user gives
    /// one).
    File(String),
}

/// What a submit sends, in document order (buttons left out); a hidden
/// input named `_charset_` sends the name of `charset`, the form's
/// encoding.
pub(super) fn entries<'a>(
    html: &'a Html,
    form: ElementRef<'a>,
    charset: &'static Encoding,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for e in controls(html, form, "input, select, textarea") {
        let el = e.value();
        let Some(name) = el.attr("name").filter(|n| !n.is_empty()) else {
            continue;
        };
        if disabled(e) {
            continue;
        }
        let name = name.to_owned();
        match el.name() {
            "textarea" => out.push(Entry::Text(name, e.text().collect())),
            "select" => out.extend(
                select_values(e)
                    .into_iter()
                    .map(|v| Entry::Text(name.clone(), v)),
            ),
            _ => {
                let t = el.attr("type").unwrap_or("text").to_ascii_lowercase();
                match t.as_str() {
                    "submit" | "image" | "button" | "reset" => {}
                    "file" => out.push(Entry::File(name)),
                    "hidden" if name.eq_ignore_ascii_case("_charset_") => {
                        out.push(Entry::Text(name, charset.name().to_owned()));
                    }
                    "checkbox" | "radio" => {
                        if el.attr("checked").is_some() {
                            let v = el.attr("value").unwrap_or("on").to_owned();
                            out.push(Entry::Text(name, v));
                        }
                    }
                    _ => out.push(Entry::Text(name, el.attr("value").unwrap_or("").to_owned())),
                }
            }
        }
    }
    out
}

/// Every line break (LF, CR or CRLF) as CRLF, as a browser sends names
/// and values in a form-urlencoded body or query.
pub(super) fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(html: &str) -> Vec<(String, String)> {
        let doc = Html::parse_document(html);
        let form = doc.select(&sel("form")).next().unwrap();
        fields(&doc, form)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_select_defaults_to_its_first_enabled_option() {
        let got = sent(
            r#"<form>
              <select name="dis"><option disabled>none</option><option value="ok">OK</option></select>
              <select name="grp"><optgroup label="g" disabled><option>in</option></optgroup><option>out</option></select>
              <select name="all"><option disabled>x</option></select>
              <select name="seldis"><option>a</option><option selected disabled>b</option></select>
              <select name="m" multiple><option selected disabled>x</option><option selected>y</option><option>z</option></select>
              <select name="last"><option selected>1</option><option selected>2</option></select>
            </form>"#,
        );
        assert_eq!(
            got,
            pairs(&[("dis", "ok"), ("grp", "out"), ("m", "y"), ("last", "2")])
        );
    }

    #[test]
    fn a_disabled_fieldset_disables_what_it_holds_but_its_first_legend() {
        let got = sent(
            r#"<form>
              <fieldset disabled>
                <legend><input name="legend1" value="1"></legend>
                <legend><input name="legend2" value="2"></legend>
                <input name="y" value="1">
                <fieldset><input name="deep" value="d"></fieldset>
                <button name="b" value="b">B</button>
              </fieldset>
              <fieldset><input name="open" value="o"></fieldset>
              <input name="z" value="2">
            </form>"#,
        );
        assert_eq!(got, pairs(&[("legend1", "1"), ("open", "o"), ("z", "2")]));
        let doc = Html::parse_document(
            r#"<fieldset disabled><form><input type="submit" name="go"></form></fieldset>"#,
        );
        let form = doc.select(&sel("form")).next().unwrap();
        assert!(submit_buttons(&doc, form).is_empty());
    }

    #[test]
    fn controls_elsewhere_with_form_id_belong_to_it() {
        let doc = Html::parse_document(
            r#"<input form="f" name="before" value="0">
               <form id="f"><input name="inside" value="i">
                 <input form="other" name="theirs" value="t"></form>
               <form id="other"></form>
               <input form="f" name="outside" value="o">
               <button form="f" name="go" value="g">Go</button>
               <input form="nosuch" name="lost" value="l">"#,
        );
        let form = doc.select(&sel("form")).next().unwrap();
        assert_eq!(
            fields(&doc, form),
            pairs(&[("before", "0"), ("inside", "i"), ("outside", "o")])
        );
        let buttons = submit_buttons(&doc, form);
        assert_eq!(buttons.len(), 1);
        assert_eq!(buttons[0].value().attr("name"), Some("go"));
        // The id must be the first element with it to name a form.
        let doc = Html::parse_document(
            r#"<p id="f"></p><form id="f"><input name="in" value="1"></form>
               <input form="f" name="out" value="2">"#,
        );
        let form = doc.select(&sel("form")).next().unwrap();
        assert_eq!(fields(&doc, form), pairs(&[("in", "1")]));
    }

    #[test]
    fn line_breaks_become_crlf() {
        assert_eq!(crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
    }
}
