//! `Credentials::from_imds_json`: the role credentials document.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::credentials::Credentials;
use crate::error::Error;
use crate::error::ResponseError;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const PATH: &str = "/latest/meta-data/iam/security-credentials/web";
const REQUIRED: [&str; 4] = ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"];

/// A secret with a marker, so that finding it in a message is never a
/// coincidence with the message's own words.
fn secret() -> impl Strategy<Value = String> {
    "S3CR3T[A-Za-z0-9/+=\"\\\\é]{8,40}"
}

/// Any time humantime reads back: 1970 to 2038 (`i32::MAX` seconds), to
/// the nanosecond. Times before now included: expired credentials parse.
fn time() -> impl Strategy<Value = SystemTime> {
    (
        0..=i32::MAX as u64,
        prop_oneof![Just(0u32), 0..1_000_000_000u32],
    )
        .prop_map(|(secs, nanos)| UNIX_EPOCH + Duration::new(secs, nanos))
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339(time).to_string()
}

/// A valid document's fields.
#[derive(Debug, Clone)]
struct Fields {
    access_key_id: String,
    secret: String,
    token: String,
    expiration: SystemTime,
    code: Option<&'static str>,
    account_id: Option<String>,
    last_updated: Option<SystemTime>,
    extra: Option<(String, String)>,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        "ASIA[A-Z0-9]{0,16}|.{1,20}",
        secret(),
        secret(),
        time(),
        proptest::option::of(Just("Success")),
        proptest::option::of("[0-9]{12}"),
        proptest::option::of(time()),
        proptest::option::of(("X[a-z]{1,10}", ".{0,10}")),
    )
        .prop_map(
            |(access_key_id, secret, token, expiration, code, account_id, last_updated, extra)| {
                Fields {
                    access_key_id,
                    secret,
                    token,
                    expiration,
                    code,
                    account_id,
                    last_updated,
                    extra,
                }
            },
        )
}

impl Fields {
    fn document(&self) -> Map<String, Value> {
        let mut doc = Map::new();
        // Unknown fields first, so that a known one of the same name wins.
        if let Some((key, value)) = &self.extra {
            doc.insert(key.clone(), json!(value));
        }
        if let Some(code) = self.code {
            doc.insert("Code".into(), json!(code));
        }
        doc.insert("Type".into(), json!("AWS-HMAC"));
        doc.insert("AccessKeyId".into(), json!(self.access_key_id));
        doc.insert("SecretAccessKey".into(), json!(self.secret));
        doc.insert("Token".into(), json!(self.token));
        doc.insert("Expiration".into(), json!(rfc3339(self.expiration)));
        if let Some(account) = &self.account_id {
            doc.insert("AccountId".into(), json!(account));
        }
        if let Some(time) = self.last_updated {
            doc.insert("LastUpdated".into(), json!(rfc3339(time)));
        }
        doc
    }
}

fn parse(doc: &Map<String, Value>) -> Result<Credentials, Error> {
    let body = serde_json::to_vec(doc).unwrap();
    Credentials::from_imds_json(PATH, "web", &body)
}

/// A JSON value of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        "20[0-9]{2}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,12})?Z?"
            .prop_map(Value::from),
        Just(json!("Success")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_valid_document_parses_back_to_its_fields(fields in fields()) {
        let credentials = parse(&fields.document()).unwrap();
        prop_assert_eq!(credentials.access_key_id(), fields.access_key_id.as_str());
        prop_assert_eq!(credentials.secret_access_key(), fields.secret.as_str());
        prop_assert_eq!(credentials.session_token(), fields.token.as_str());
        prop_assert_eq!(credentials.expiration(), fields.expiration);
        prop_assert_eq!(credentials.account_id(), fields.account_id.as_deref());
        prop_assert_eq!(credentials.last_updated(), fields.last_updated);
        prop_assert_eq!(credentials.role_name(), Some("web"));
    }

    #[test]
    fn debug_does_not_depend_on_the_secrets(fields in fields(), other in secret()) {
        let credentials = parse(&fields.document()).unwrap();
        let mut changed = fields.document();
        changed.insert("SecretAccessKey".into(), json!(other));
        changed.insert("Token".into(), json!(other));
        let debug = format!("{credentials:?}");
        prop_assert_eq!(&debug, &format!("{:?}", parse(&changed).unwrap()));
        prop_assert!(!debug.contains(&fields.secret) && !debug.contains(&fields.token));
    }

    #[test]
    fn debug_never_panics_whatever_the_expiration(secs: u64, nanos in 0..1_000_000_000u32, before: bool) {
        let offset = Duration::new(secs % (1 << 40), nanos);
        let expiration = if before { UNIX_EPOCH.checked_sub(offset) } else { UNIX_EPOCH.checked_add(offset) };
        if let Some(expiration) = expiration {
            let debug = format!("{:?}", Credentials::new("AKID", "s3cr3t", "t0k3n", expiration));
            prop_assert!(!debug.contains("s3cr3t") && !debug.contains("t0k3n"));
        }
    }

    #[test]
    fn a_code_other_than_success_is_a_credentials_error(
        fields in fields(),
        code in "[A-Za-z]{1,30}".prop_filter("not Success", |c| c != "Success"),
        message in proptest::option::of(".{0,30}"),
    ) {
        let mut doc = fields.document();
        doc.insert("Code".into(), json!(code));
        if let Some(message) = &message {
            doc.insert("Message".into(), json!(message));
        }
        match parse(&doc) {
            Err(Error::Credentials { role, code: got, message: got_message }) => {
                prop_assert_eq!(role, "web");
                prop_assert_eq!(got, code);
                prop_assert_eq!(got_message, message);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn a_missing_empty_or_mistyped_field_is_named_and_no_secret_is_quoted(
        fields in fields(),
        field in proptest::sample::select(&REQUIRED[..]),
        damage in 0..4u8,
    ) {
        let mut doc = fields.document();
        let expected = match damage {
            0 => { doc.remove(field); ResponseError::MissingField(field) }
            1 => { doc.insert(field.into(), Value::Null); ResponseError::MissingField(field) }
            2 => {
                doc.insert(field.into(), json!(""));
                ResponseError::InvalidField { field, reason: "it is empty".into() }
            }
            _ => {
                doc.insert(field.into(), json!([fields.secret.clone()]));
                ResponseError::InvalidField { field, reason: "expected a string".into() }
            }
        };
        let error = parse(&doc).unwrap_err();
        let message = error.to_string();
        prop_assert!(!message.contains(&fields.secret) && !message.contains(&fields.token), "{}", message);
        match error {
            Error::BadResponse { path, reason } => {
                prop_assert_eq!(path, PATH);
                prop_assert_eq!(reason, expected);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn an_expiration_that_is_not_rfc3339_is_an_invalid_field(
        fields in fields(),
        expiration in ".{1,30}".prop_filter("not a time", |t| humantime::parse_rfc3339_weak(t).is_err()),
    ) {
        let mut doc = fields.document();
        doc.insert("Expiration".into(), json!(expiration));
        let result = parse(&doc);
        prop_assert!(
            matches!(
                &result,
                Err(Error::BadResponse { reason: ResponseError::InvalidField { field: "Expiration", .. }, .. })
            ),
            "{:?}", result
        );
    }

    #[test]
    fn a_truncated_document_is_a_json_error_that_quotes_nothing(fields in fields(), cut in any::<prop::sample::Index>()) {
        let body = serde_json::to_vec(&fields.document()).unwrap();
        let cut = cut.index(body.len());
        let error = Credentials::from_imds_json(PATH, "web", &body[..cut]).unwrap_err();
        let message = error.to_string();
        prop_assert!(!message.contains(&fields.secret) && !message.contains(&fields.token), "{}", message);
        prop_assert!(
            matches!(error, Error::BadResponse { reason: ResponseError::Json(_), .. }),
            "{:?}", error
        );
    }

    #[test]
    fn any_json_is_credentials_or_a_typed_error(value in json_value(), known in proptest::collection::btree_map(
        proptest::sample::select(&["Code", "Message", "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated", "AccountId"][..]),
        json_value(),
        0..8,
    )) {
        let mut doc = match value {
            Value::Object(map) => map,
            other => {
                let body = serde_json::to_vec(&other).unwrap();
                let result = Credentials::from_imds_json(PATH, "web", &body);
                prop_assert!(matches!(result, Err(Error::BadResponse { .. })), "{:?}", result);
                Map::new()
            }
        };
        doc.extend(known.into_iter().map(|(k, v)| (k.to_owned(), v)));
        match parse(&doc) {
            Ok(credentials) => {
                prop_assert!(!credentials.access_key_id().is_empty());
                prop_assert!(!credentials.secret_access_key().is_empty());
                prop_assert!(!credentials.session_token().is_empty());
                prop_assert!(doc.get("Code").is_none_or(|c| c.is_null() || c == "Success"));
            }
            Err(Error::Credentials { code, .. }) => prop_assert_ne!(code, "Success"),
            Err(Error::BadResponse { path, .. }) => prop_assert_eq!(path, PATH),
            Err(other) => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn any_bytes_are_credentials_or_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        match Credentials::from_imds_json(PATH, "web", &body) {
            Ok(credentials) => prop_assert!(!credentials.session_token().is_empty()),
            Err(Error::BadResponse { .. } | Error::Credentials { .. }) => {}
            Err(other) => prop_assert!(false, "{:?}", other),
        }
    }
}
