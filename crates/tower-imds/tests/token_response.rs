//! The answer to the token `PUT`, whatever it is: the layer succeeds
//! exactly when status, TTL header and body make a valid token response,
//! and otherwise fails with the `tower_imds::Error` that says why. Never a panic,
//! never a hang. The inner service plays IMDS in-process.
//!
//! The rules and the check are in `support/token_oracle.rs`, which the
//! `token_response` fuzz target (`fuzz/` at the workspace root) shares;
//! its seed corpus is replayed here, read as the fuzz target reads it.

#[path = "support/token_oracle.rs"]
mod token_oracle;

use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;
use tokio::runtime::Runtime;
use tower_imds::header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS;

use token_oracle::{Outcome, TokenAnswer, check};

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Bytes a header value may hold: visible ASCII, space, tab and obs-text
/// (which is not UTF-8).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![b' '..=b'~', Just(b'\t'), 0x80..=0xffu8];
    proptest::collection::vec(byte, 0..12)
}

fn ttl() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => "[0-9]{1,6}".prop_map(|s| Some(s.into_bytes())),
        1 => "-?[0-9]{1,3}[.e ]?[0-9]{0,2}".prop_map(|s| Some(s.into_bytes())),
        1 => header_bytes().prop_map(Some),
        1 => Just(None),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => "[!-~]{1,64}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        // Around the size limit, and beyond it.
        1 => (4090..4110usize).prop_map(|len| vec![b'A'; len]),
        1 => Just(vec![b'A'; 1 << 20]),
    ]
}

fn answer() -> impl Strategy<Value = TokenAnswer> {
    let status = prop_oneof![
        3 => Just(200u16),
        1 => proptest::sample::select(&[201u16, 204, 301, 400, 401, 403, 404, 405, 429, 500, 503][..]),
        1 => 100..=999u16,
    ];
    (status, ttl(), body()).prop_map(|(status, ttl, body)| {
        let mut headers = HeaderMap::new();
        if let Some(ttl) = ttl {
            let value = HeaderValue::from_bytes(&ttl).unwrap();
            headers.insert(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, value);
        }
        TokenAnswer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_token_answer_is_a_token_or_the_error_that_says_why(answer in answer(), fallback: bool) {
        check(&runtime(), &answer, fallback);
    }
}

#[test]
fn the_fuzz_seeds_are_tokens_or_refusals_as_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/token_response");
    let runtime = runtime();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("seed-") {
            continue;
        }
        let answer = TokenAnswer::parse(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|| panic!("{name} has no status line"));
        let sent = matches!(check(&runtime, &answer, false), Outcome::Sent(Some(_)));
        assert_eq!(sent, name.starts_with("seed-ok-"), "{name}");
        check(&runtime, &answer, true);
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} seeds in {}", dir.display());
}
