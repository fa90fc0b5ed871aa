//! The shared AWS config file: `parse_profiles` and `parse` on any text,
//! for the `default` profile and for the first `[profile NAME]` the text
//! names.
//!
//! Checks: never a panic; a syntax error does not depend on the profile
//! asked for and names a line of the text; `parse` is `parse_profiles`'
//! entry for the name; profile names and keys are identifiers (ASCII
//! letters, digits, `_-/.%@:+`; keys lower-case) and values are trimmed.

#![no_main]
#![forbid(unsafe_code)]

use imds::__internals::{DEFAULT_PROFILE, parse, parse_profiles};
use libfuzzer_sys::fuzz_target;

const WHITESPACE: [char; 2] = [' ', '\t'];

/// The name in the first `[profile NAME` of `text`, if any.
fn first_profile(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("[profile ")?;
    let rest = rest.trim_start_matches(WHITESPACE);
    let end = rest
        .find(|c: char| c == ']' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A profile name or key as the SDKs allow them.
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let all = parse_profiles(text);
    let default = parse(text, DEFAULT_PROFILE);
    let named = first_profile(text).map(|name| (name, parse(text, name)));
    for (name, result) in [(DEFAULT_PROFILE, &default)]
        .into_iter()
        .chain(named.as_ref().map(|(name, result)| (*name, result)))
    {
        match (result, &all) {
            (Ok(properties), Ok(all)) => {
                assert_eq!(*properties, all.get(name).cloned().unwrap_or_default());
            }
            (Err(error), Err(all)) => {
                assert!(error.line >= 1 && error.line <= text.split('\n').count());
                assert_eq!(error, all);
            }
            _ => panic!("parse and parse_profiles disagree on {name:?}"),
        }
    }
    if let Ok(all) = all {
        for (name, properties) in all {
            assert!(is_identifier(&name), "{name:?}");
            for (key, value) in properties {
                assert!(is_identifier(&key), "{key:?}");
                assert_eq!(key, key.to_ascii_lowercase());
                assert_eq!(value.trim_matches(WHITESPACE), value);
            }
        }
    }
});
