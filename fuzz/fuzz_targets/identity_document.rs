//! Typed JSON documents: `document::parse_json` for the identity document,
//! and for IAM info and the spot instance action, on any body.
//!
//! Checks: never a panic; a refusal is `Error::BadResponse` with a JSON
//! reason; an accepted document serialises to JSON that parses back to
//! the same document; a spot deadline, when there is one, is on or after
//! 1970.

#![no_main]
#![forbid(unsafe_code)]

use imds::__internals as document;
use imds::Error;
use imds::document::{IamInfo, IdentityDocument, SpotInstanceAction};
use imds::error::ResponseError;
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

const PATH: &str = "/latest/dynamic/instance-identity/document";

/// Parses `body` as `T` and checks the round trip; the document, if any.
fn round_trip<T>(body: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    match document::parse_json::<T>(PATH, body) {
        Ok(parsed) => {
            let json = serde_json::to_vec(&parsed).unwrap();
            assert_eq!(document::parse_json::<T>(PATH, &json).unwrap(), parsed);
            Some(parsed)
        }
        Err(Error::BadResponse {
            path,
            reason: ResponseError::Json(_),
        }) => {
            assert_eq!(path, PATH);
            None
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fuzz_target!(|body: &[u8]| {
    if let Some(doc) = round_trip::<IdentityDocument>(body) {
        assert!(document::parse_text(PATH, doc.region.as_bytes()).is_ok());
        // pendingTime parsed, or not: never a panic.
        let _ = doc.pending_at();
    }
    round_trip::<IamInfo>(body);
    if let Some(action) = round_trip::<SpotInstanceAction>(body)
        && let Some(deadline) = action.deadline()
    {
        assert!(deadline >= std::time::UNIX_EPOCH);
    }
    let _ = document::parse_text(PATH, body);
});
