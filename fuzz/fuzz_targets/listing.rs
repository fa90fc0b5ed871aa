//! Directory listings: `listing::parse` and `listing::parse_public_keys`
//! on any body, after `document::parse_text` as the client does.
//!
//! Checks: never a panic; every entry has a name without a line break,
//! and the entries, written back one per `\r\n` line, parse to themselves.

#![no_main]
#![forbid(unsafe_code)]

use imds::__internals::{self as document, listing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(text) = document::parse_text("/latest/meta-data/", body) else {
        assert!(std::str::from_utf8(body).is_err());
        return;
    };

    let entries = listing::parse(text);
    for entry in &entries {
        assert!(!entry.name().is_empty());
        assert!(!entry.name().contains('\n'));
    }
    let rendered: String = entries.iter().map(|e| e.path_segment() + "\r\n").collect();
    assert_eq!(listing::parse(&rendered), entries);

    for key in listing::parse_public_keys(text) {
        assert!(!key.index.contains(['=', '\n']));
        assert!(!key.name.contains('\n'));
        assert_eq!(key.path_segment(), format!("{}/", key.index));
    }
});
