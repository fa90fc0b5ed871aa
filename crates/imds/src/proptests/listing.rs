//! `listing::parse` and `listing::parse_public_keys`.

use crate::listing::{self, Entry, PublicKey};
use proptest::prelude::*;

/// A name a listing line can carry: no line break, and no trailing `\r`
/// (it would be taken for a `\r\n` line end).
fn name() -> impl Strategy<Value = String> {
    "[^\r\n]{1,24}"
}

/// An entry as IMDS lists it. A leaf name never ends in `/` (that line
/// would be a directory), except the lone `/` the parser keeps as a leaf.
fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        name().prop_map(Entry::dir),
        name()
            .prop_filter("a leaf does not end in /", |n| !n.ends_with('/'))
            .prop_map(Entry::leaf),
        Just(Entry::leaf("/")),
    ]
}

/// Joins lines with `\n` or `\r\n`, a mix of both, with or without a final
/// line end, and with blank lines in between.
fn render(lines: &[String], crlf: &[bool], blank_after: &[bool], final_end: bool) -> String {
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push_str(if crlf[i] { "\r\n" } else { "\n" });
        }
        if blank_after[i] && i > 0 {
            text.push_str(if crlf[i] { "\r\n" } else { "\n" });
        }
        text.push_str(line);
    }
    if final_end && !lines.is_empty() {
        text.push('\n');
    }
    text
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_rendered_listing_parses_back_to_its_entries(
        entries in proptest::collection::vec(entry(), 0..12),
        crlf in proptest::collection::vec(any::<bool>(), 12),
        blank in proptest::collection::vec(any::<bool>(), 12),
        final_end: bool,
    ) {
        let lines: Vec<String> = entries.iter().map(Entry::path_segment).collect();
        let text = render(&lines, &crlf, &blank, final_end);
        prop_assert_eq!(listing::parse(&text), entries);
    }

    #[test]
    fn any_text_parses_to_entries_that_render_back_to_it(text in "(?s).{0,200}") {
        let entries = listing::parse(&text);
        for entry in &entries {
            prop_assert!(!entry.name().is_empty());
            prop_assert!(!entry.name().contains('\n'));
        }
        // Rendering with `\r\n` keeps names that end in `\r`.
        let rendered: String = entries.iter().map(|e| e.path_segment() + "\r\n").collect();
        prop_assert_eq!(listing::parse(&rendered), entries);
        prop_assert!(listing::parse(&text).len() <= text.split('\n').count());
    }

    #[test]
    fn listing_with_odd_lines_keeps_every_nonempty_line(
        lines in proptest::collection::vec("[ -~\t\u{80}-\u{10ffff}]{0,16}", 0..12)
    ) {
        let text = lines.join("\n");
        let expected = lines.iter().filter(|l| !l.is_empty()).count();
        prop_assert_eq!(listing::parse(&text).len(), expected);
    }

    #[test]
    fn rendered_public_keys_parse_back(
        keys in proptest::collection::vec(("[0-9]{1,3}", "[^\r\n]{1,24}"), 0..8),
        crlf: bool,
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let text: String = keys.iter().map(|(i, n)| format!("{i}={n}{end}")).collect();
        let expected: Vec<PublicKey> = keys
            .iter()
            .map(|(index, name)| PublicKey { index: index.clone(), name: name.clone() })
            .collect();
        prop_assert_eq!(listing::parse_public_keys(&text), expected);
        for key in listing::parse_public_keys(&text) {
            prop_assert_eq!(key.path_segment(), format!("{}/", key.index));
        }
    }

    #[test]
    fn any_text_parses_as_public_keys(text in "(?s).{0,200}") {
        for key in listing::parse_public_keys(&text) {
            prop_assert!(!key.index.contains('=') && !key.index.contains('\n'));
            prop_assert!(!key.name.contains('\n'));
        }
    }
}
