//! `profile::parse`: the shared AWS config file.

use std::collections::BTreeMap;

use imds::profile::{self, ParseError};
use proptest::prelude::*;

/// A section header of a config file.
#[derive(Debug, Clone)]
enum Header {
    /// `[default]`.
    BareDefault,
    /// `[profile NAME]`.
    Profile(String),
    /// A section that is not a profile of the config file.
    Ignored(String),
}

/// A property, with the indented lines that continue its value.
#[derive(Debug, Clone)]
struct Property {
    key: String,
    value: String,
    continuation: Vec<String>,
}

/// How a file is written: the same content in the many forms the parser
/// accepts.
#[derive(Debug, Clone)]
struct Layout {
    crlf: bool,
    bom: bool,
    final_newline: bool,
    /// Indexed by line, cycled: spacing and comment choices.
    spacing: Vec<(u8, bool)>,
}

fn profile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("default".to_owned()),
        Just("dev".to_owned()),
        "[A-Za-z0-9_.-]{1,10}"
    ]
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        Just(Header::BareDefault),
        profile_name().prop_map(Header::Profile),
        prop_oneof![
            "[a-z]{1,8}".prop_filter("not default", |n| n != "default"),
            "sso-session [a-z]{1,8}",
            "services [a-z]{1,8}",
            "profile[a-z]{1,8}",
            "profile [a-z]{1,4} [a-z]{1,4}",
        ]
        .prop_map(Header::Ignored),
    ]
}

/// A value as written after `=`: inner spaces allowed, but no whitespace
/// before `#` or `;` (that starts a comment) and none at either end.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9:/._=@+-][A-Za-z0-9:/._=@+#;é -]{0,20}"
            .prop_map(|v| v.trim_end().to_owned())
            .prop_filter("no comment", |v| !v.contains(" #") && !v.contains(" ;")),
    ]
}

fn property() -> impl Strategy<Value = Property> {
    (
        "[A-Za-z][A-Za-z0-9_]{0,12}",
        value(),
        proptest::collection::vec("[A-Za-z0-9=][A-Za-z0-9 =#;]{0,10}[A-Za-z0-9=]", 0..2),
    )
        .prop_map(|(key, value, continuation)| Property {
            key,
            value,
            continuation,
        })
}

fn file() -> impl Strategy<Value = Vec<(Header, Vec<Property>)>> {
    proptest::collection::vec(
        (header(), proptest::collection::vec(property(), 0..4)),
        1..6,
    )
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec((0..4u8, any::<bool>()), 1..8),
    )
        .prop_map(|(crlf, bom, final_newline, spacing)| Layout {
            crlf,
            bom,
            final_newline,
            spacing,
        })
}

/// The file's lines: always opening with a section header.
fn render_lines(sections: &[(Header, Vec<Property>)], layout: &Layout) -> Vec<String> {
    let pad = ["", " ", "\t", " \t "];
    let mut lines = Vec::new();
    let mut choice = layout.spacing.iter().cycle();
    for (header, properties) in sections {
        let (space, comment) = *choice.next().unwrap();
        let space = pad[usize::from(space)];
        let inner = match header {
            Header::BareDefault => "default".to_owned(),
            Header::Profile(name) => format!("profile{} {name}", space),
            Header::Ignored(inner) => inner.clone(),
        };
        let comment = if comment { " # a comment" } else { "" };
        lines.push(format!("[{space}{inner}{space}]{comment}"));
        for property in properties {
            let (space, comment) = *choice.next().unwrap();
            let space = pad[usize::from(space)];
            if comment {
                lines.push(String::new());
                lines.push(format!("{space}; a full-line comment"));
            }
            let trailing = if comment { " ; trailing comment" } else { "" };
            lines.push(format!(
                "{key}{space}={space}{value}{space}{trailing}",
                key = property.key,
                value = property.value,
            ));
            for more in &property.continuation {
                lines.push(format!("  {more}{space}"));
            }
        }
    }
    lines
}

fn join(lines: &[String], layout: &Layout) -> String {
    let end = if layout.crlf { "\r\n" } else { "\n" };
    let mut text = if layout.bom {
        "\u{feff}".to_owned()
    } else {
        String::new()
    };
    text.push_str(&lines.join(end));
    if layout.final_newline {
        text.push_str(end);
    }
    text
}

/// What `parse` should return for `name`: the `[profile NAME]` sections
/// merged, else (for `default`) the `[default]` ones, else nothing.
fn expected(sections: &[(Header, Vec<Property>)], name: &str) -> BTreeMap<String, String> {
    let merge = |matches: &dyn Fn(&Header) -> bool| {
        let mut found = false;
        let mut props = BTreeMap::new();
        for (_, properties) in sections.iter().filter(|(h, _)| matches(h)) {
            found = true;
            for property in properties {
                let mut value = property.value.clone();
                for more in &property.continuation {
                    value.push('\n');
                    value.push_str(more);
                }
                props.insert(property.key.to_ascii_lowercase(), value);
            }
        }
        found.then_some(props)
    };
    merge(&|h| matches!(h, Header::Profile(n) if n == name))
        .or_else(|| {
            (name == "default")
                .then(|| merge(&|h| matches!(h, Header::BareDefault)))
                .flatten()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_rendered_file_parses_back_to_each_profile(sections in file(), layout in layout()) {
        let text = join(&render_lines(&sections, &layout), &layout);
        let mut names: Vec<String> = sections
            .iter()
            .filter_map(|(h, _)| match h {
                Header::Profile(name) | Header::Ignored(name) => Some(name.clone()),
                Header::BareDefault => None,
            })
            .collect();
        names.extend(["default".to_owned(), "missing".to_owned()]);
        for name in names {
            let parsed = profile::parse(&text, &name);
            prop_assert_eq!(parsed, Ok(expected(&sections, &name)), "{:?} in {:?}", name, text);
        }
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_it(
        sections in file(),
        layout in layout(),
        at in any::<prop::sample::Index>(),
        bad in 0..6usize,
    ) {
        let mut lines = render_lines(&sections, &layout);
        let (line, index, message) = match bad {
            0 => ("[no closing bracket", 1 + at.index(lines.len()), "section header is missing its closing `]`"),
            1 => ("no equals sign", 1 + at.index(lines.len()), "expected `key = value`"),
            2 => ("= no name", 1 + at.index(lines.len()), "property has no name before `=`"),
            3 => ("key = before any section", 0, "property before any section header"),
            4 => ("  indented = before any section", 0, "indented line before any section"),
            _ => ("  indented = under a header", 1, "indented line with no property above it"),
        };
        lines.insert(index, line.to_owned());
        let text = join(&lines, &layout);
        let error = ParseError { line: index + 1, message };
        prop_assert_eq!(profile::parse(&text, "default"), Err(error.clone()), "{:?}", text);
        prop_assert_eq!(profile::parse(&text, "missing"), Err(error));
    }

    #[test]
    fn any_text_is_a_profile_or_an_error_whatever_the_name(
        text in "(?s)[\\[\\]=#; \t\r\nA-Za-z\u{feff}é]{0,120}",
        name in profile_name(),
    ) {
        let result = profile::parse(&text, &name);
        // Syntax errors do not depend on which profile is asked for.
        let other = profile::parse(&text, "some-other-name");
        prop_assert_eq!(result.as_ref().err(), other.as_ref().err());
        match result {
            Ok(props) => {
                for (key, value) in props {
                    prop_assert!(!key.is_empty());
                    prop_assert_eq!(&key, &key.to_ascii_lowercase());
                    prop_assert!(!key.contains('=') && !key.contains('\n'));
                    prop_assert!(key.trim_matches([' ', '\t']) == key);
                    prop_assert!(value.trim_matches([' ', '\t']) == value, "{:?}", value);
                }
            }
            Err(error) => {
                prop_assert!(error.line >= 1 && error.line <= text.split('\n').count());
            }
        }
    }
}
