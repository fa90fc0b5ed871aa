//! The shared AWS config file: `profile::parse` on any text, for the
//! `default` profile and for the first `[profile NAME]` the text names.
//!
//! Checks: never a panic; a syntax error does not depend on the profile
//! asked for and names a line of the text; accepted properties have
//! non-empty, lower-case, trimmed keys without `=` and trimmed values.

#![no_main]
#![forbid(unsafe_code)]

use imds::profile;
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let default = profile::parse(text, profile::DEFAULT_PROFILE);
    let named = first_profile(text).map(|name| profile::parse(text, name));
    for result in [Some(&default), named.as_ref()].into_iter().flatten() {
        match result {
            Ok(properties) => {
                for (key, value) in properties {
                    assert!(!key.is_empty());
                    assert_eq!(*key, key.to_ascii_lowercase());
                    assert!(!key.contains(['=', '\n']));
                    assert_eq!(key.trim_matches(WHITESPACE), key);
                    assert_eq!(value.trim_matches(WHITESPACE), value);
                }
            }
            Err(error) => {
                assert!(error.line >= 1 && error.line <= text.split('\n').count());
                assert_eq!(Some(error), default.as_ref().err());
            }
        }
    }
    if let Some(named) = &named {
        assert_eq!(named.is_err(), default.is_err());
    }
});
