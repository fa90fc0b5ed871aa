//! Inputs of many megabytes, where IMDS sends a few bytes: each parser
//! gets through them in one pass, to a value or a typed error. (The
//! client caps response bodies before they reach a parser; these guard
//! the parsers themselves.)

use crate::credentials::Credentials;
use crate::document::{self, IdentityDocument};
use crate::error::Error;
use crate::error::ResponseError;
use crate::{listing, profile};

const TEN_MB: usize = 10 * 1024 * 1024;

fn is_json_error<T>(result: &Result<T, Error>) -> bool {
    matches!(
        result,
        Err(Error::BadResponse {
            reason: ResponseError::Json(_),
            ..
        })
    )
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let nested = "[".repeat(TEN_MB);
    assert!(is_json_error(&Credentials::from_imds_json(
        "/p",
        "r",
        nested.as_bytes()
    )));
    let nested = r#"{"a":"#.repeat(TEN_MB / 5);
    assert!(is_json_error(&document::parse_json::<IdentityDocument>(
        "/p",
        nested.as_bytes()
    )));
}

#[test]
fn a_huge_credentials_field_is_read_whole() {
    let token = "T".repeat(TEN_MB);
    let body = format!(
        r#"{{"AccessKeyId":"A","SecretAccessKey":"s","Token":"{token}","Expiration":"2024-05-01T16:00:00Z"}}"#
    );
    let credentials = Credentials::from_imds_json("/p", "r", body.as_bytes()).unwrap();
    assert_eq!(credentials.session_token().len(), TEN_MB);
    assert!(!format!("{credentials:?}").contains("TTTT"));
}

#[test]
fn huge_garbage_is_a_json_error() {
    let mut body = vec![b' '; TEN_MB];
    body.push(b'x');
    assert!(is_json_error(&document::parse_json::<IdentityDocument>(
        "/p", &body
    )));
    assert!(is_json_error(&Credentials::from_imds_json(
        "/p", "r", &body
    )));
    let mut body = vec![b'a'; TEN_MB];
    body.push(0xff);
    assert!(document::parse_text("/p", &body).is_err());
}

#[test]
fn huge_listings() {
    let line = "x".repeat(TEN_MB);
    assert_eq!(listing::parse(&line), [listing::Entry::leaf(line.clone())]);
    assert!(listing::parse(&"\r\n".repeat(500_000)).is_empty());
    let many = "a/\n".repeat(100_000);
    assert_eq!(listing::parse(&many).len(), 100_000);
    assert_eq!(listing::parse_public_keys(&"=".repeat(TEN_MB)).len(), 1);
}

#[test]
fn huge_config_files() {
    // A quarter of the largest file `profile::load` reads.
    let size = profile::MAX_CONFIG_FILE_SIZE as usize / 4;
    let unclosed = "[".repeat(size);
    let error = profile::parse(&unclosed, "default").unwrap_err();
    assert_eq!(error.line, 1);
    let mut text = "[default]\n".to_owned();
    text.push_str(&"k = v\n  more\n".repeat(50_000));
    let properties = profile::parse(&text, "default").unwrap();
    assert_eq!(properties["k"], "v\nmore");
    let comments = format!("[default]\na = {}", " #".repeat(size / 2));
    assert_eq!(profile::parse(&comments, "default").unwrap()["a"], "");
}
