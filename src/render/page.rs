//! The frame of every page and the pieces pages share.

use super::style::STYLE;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A self-contained page: inline CSS, no script, nothing fetched.
pub fn page(title: &str, body: Markup) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main { (body) } }
        }
    };
    let mut text = page.into_string();
    text.push('\n');
    text
}

/// A label and a figure, as a card.
pub fn card(label: &str, value: &str) -> Markup {
    html! { div.card { div.label { (label) } div.value { (value) } } }
}

/// Text whose `quoted` spans (as warnings write ids) show as code, without the backticks.
pub fn with_code(text: &str) -> Markup {
    let mut parts = text.split('`');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    // An unmatched backtick is text, not the start of code.
    let pairs = rest.len() / 2;
    html! {
        (first)
        @for (i, part) in rest.iter().enumerate() {
            @if i % 2 == 0 && i / 2 < pairs { code { (part) } } @else if i % 2 == 0 { "`" (part) } @else { (part) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_spans_become_code() {
        assert_eq!(
            with_code("rule `a<b` paid `x` twice").into_string(),
            "rule <code>a&lt;b</code> paid <code>x</code> twice"
        );
        assert_eq!(with_code("odd ` tick").into_string(), "odd ` tick");
        assert_eq!(with_code("none").into_string(), "none");
    }
}
