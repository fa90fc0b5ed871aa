//! The role credentials document: `Credentials::from_imds_json` on any
//! body.
//!
//! Checks: never a panic; accepted credentials have every required field
//! and an expiration humantime can write back; their `Debug` depends on
//! nothing secret (it equals the `Debug` of the same document with other
//! secrets); a refusal's message is built from a fixed vocabulary, so it
//! can quote nothing of the document.

#![no_main]
#![forbid(unsafe_code)]

use imds::error::ResponseError;
use imds::{Credentials, Error};
use libfuzzer_sys::fuzz_target;

const PATH: &str = "/latest/meta-data/iam/security-credentials/web";

fuzz_target!(|body: &[u8]| {
    match Credentials::from_imds_json(PATH, "web", body) {
        Ok(credentials) => {
            assert!(!credentials.access_key_id().is_empty());
            assert!(!credentials.secret_access_key().is_empty());
            assert!(!credentials.session_token().is_empty());
            assert_eq!(credentials.role_name(), Some("web"));

            let mut same_but_secrets = serde_json::json!({
                "AccessKeyId": credentials.access_key_id(),
                "SecretAccessKey": "other secret",
                "Token": "other token",
                "Expiration": humantime::format_rfc3339_nanos(credentials.expiration()).to_string(),
            });
            if let Some(account) = credentials.account_id() {
                same_but_secrets["AccountId"] = account.into();
            }
            let body = serde_json::to_vec(&same_but_secrets).unwrap();
            let other = Credentials::from_imds_json(PATH, "web", &body).unwrap();
            assert_eq!(other.expiration(), credentials.expiration());
            assert_eq!(format!("{other:?}"), format!("{credentials:?}"));
        }
        Err(Error::Credentials { role, code, .. }) => {
            assert_eq!(role, "web");
            assert_ne!(code, "Success");
        }
        Err(Error::BadResponse { path, reason }) => {
            assert_eq!(path, PATH);
            match reason {
                ResponseError::Json(message) => assert!(
                    message == "expected a JSON object"
                        || (message.starts_with("not a JSON document (line ")
                            && message
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b" (),".contains(&b))),
                    "{message}"
                ),
                ResponseError::MissingField(_) => {}
                ResponseError::InvalidField { reason, .. } => assert!(
                    [
                        "expected a string",
                        "it is empty",
                        "expected an RFC 3339 time such as 2024-01-01T00:00:00Z",
                    ]
                    .contains(&reason.as_str()),
                    "{reason}"
                ),
                other => panic!("unexpected reason {other:?}"),
            }
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
});
