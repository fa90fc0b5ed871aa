//! `document::parse_json` for the identity document (and the other typed
//! documents), and `document::parse_text`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::document::{self, IamInfo, IdentityDocument, SpotInstanceAction};
use crate::error::Error;
use crate::error::ResponseError;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const PATH: &str = "/latest/dynamic/instance-identity/document";
const REQUIRED: [&str; 9] = [
    "accountId",
    "architecture",
    "availabilityZone",
    "imageId",
    "instanceId",
    "instanceType",
    "pendingTime",
    "region",
    "version",
];
const OPTIONAL_STRINGS: [&str; 3] = ["privateIp", "kernelId", "ramdiskId"];
const OPTIONAL_LISTS: [&str; 3] = [
    "billingProducts",
    "marketplaceProductCodes",
    "devpayProductCodes",
];

/// Text of any kind, escapes and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    "(?s).{0,16}"
}

/// An identity document as a JSON object: every required field, each
/// optional one present, `null` or absent, and unknown fields.
fn identity() -> impl Strategy<Value = Map<String, Value>> {
    let optional_string = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        text().prop_map(|t| Some(json!(t))),
    ];
    let optional_list = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        proptest::collection::vec(text(), 0..3).prop_map(|l| Some(json!(l))),
    ];
    (
        proptest::collection::vec(text(), REQUIRED.len()),
        proptest::collection::vec(optional_string, OPTIONAL_STRINGS.len()),
        proptest::collection::vec(optional_list, OPTIONAL_LISTS.len()),
        proptest::collection::btree_map("x[A-Za-z]{0,8}", text(), 0..3),
    )
        .prop_map(|(required, strings, lists, unknown)| {
            let mut doc: Map<String, Value> =
                unknown.into_iter().map(|(k, v)| (k, json!(v))).collect();
            for (key, value) in REQUIRED.iter().zip(required) {
                doc.insert((*key).into(), json!(value));
            }
            let optional = OPTIONAL_STRINGS.iter().zip(strings);
            for (key, value) in optional.chain(OPTIONAL_LISTS.iter().zip(lists)) {
                if let Some(value) = value {
                    doc.insert((*key).into(), value);
                }
            }
            doc
        })
}

fn to_body(doc: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap()
}

fn is_json_error(result: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::BadResponse { path, reason: ResponseError::Json(_) }) if path == PATH)
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn an_identity_document_parses_to_its_fields_and_serialises_back(doc in identity()) {
        let parsed: IdentityDocument = document::parse_json(PATH, &to_body(&doc)).unwrap();
        // Every field as it was written (an absent optional one is null).
        let value = serde_json::to_value(&parsed).unwrap();
        for key in REQUIRED.iter().chain(&OPTIONAL_STRINGS).chain(&OPTIONAL_LISTS) {
            prop_assert_eq!(&value[*key], doc.get(*key).unwrap_or(&Value::Null), "{}", key);
        }
        prop_assert_eq!(parsed.region.as_str(), doc["region"].as_str().unwrap());
        // And what it serialises to parses back to the same document.
        let again: IdentityDocument =
            document::parse_json(PATH, &serde_json::to_vec(&parsed).unwrap()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn an_identity_document_without_a_required_field_is_a_json_error(
        doc in identity(),
        field in proptest::sample::select(&REQUIRED[..]),
        retype: bool,
    ) {
        let mut doc = doc;
        if retype {
            doc.insert(field.into(), json!(7));
        } else {
            doc.remove(field);
        }
        let result = document::parse_json::<IdentityDocument>(PATH, &to_body(&doc));
        prop_assert!(is_json_error(&result), "{:?}", result);
        // serde names a missing field; a mistyped one, only by position.
        let message = result.unwrap_err().to_string();
        prop_assert!(retype || message.contains(field), "{}", message);
    }

    #[test]
    fn a_truncated_identity_document_is_a_json_error(doc in identity(), cut in any::<prop::sample::Index>()) {
        let body = to_body(&doc);
        let result = document::parse_json::<IdentityDocument>(PATH, &body[..cut.index(body.len())]);
        prop_assert!(is_json_error(&result), "{:?}", result);
    }

    #[test]
    fn any_bytes_are_a_document_or_a_json_error(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        for result in [
            document::parse_json::<IdentityDocument>(PATH, &body).map(drop),
            document::parse_json::<IamInfo>(PATH, &body).map(drop),
            document::parse_json::<SpotInstanceAction>(PATH, &body).map(drop),
        ] {
            prop_assert!(result.is_ok() || is_json_error(&result), "{:?}", result);
        }
    }

    #[test]
    fn parse_text_accepts_exactly_utf8(body in proptest::collection::vec(any::<u8>(), 0..64), text in text()) {
        match (document::parse_text(PATH, &body), std::str::from_utf8(&body)) {
            (Ok(parsed), Ok(expected)) => prop_assert_eq!(parsed, expected),
            (Err(Error::BadResponse { reason: ResponseError::NotUtf8, .. }), Err(_)) => {}
            (got, _) => prop_assert!(false, "{:?}", got),
        }
        prop_assert_eq!(document::parse_text(PATH, text.as_bytes()).unwrap(), text.as_str());
    }

    #[test]
    fn spot_deadline_reads_rfc3339_and_refuses_the_rest(secs in 0..=i32::MAX as u64, time in ".{0,30}") {
        let at = UNIX_EPOCH + Duration::from_secs(secs);
        let body = json!({"action": "stop", "time": humantime::format_rfc3339(at).to_string()});
        let action: SpotInstanceAction = document::parse_json(PATH, &serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(action.deadline(), Some(at));
        // Any other text: a deadline or none, never a panic.
        let body = json!({"action": "stop", "time": time});
        let action: SpotInstanceAction = document::parse_json(PATH, &serde_json::to_vec(&body).unwrap()).unwrap();
        let _: Option<SystemTime> = action.deadline();
    }

    #[test]
    fn iam_info_parses_to_its_fields(code in text(), updated in text(), arn in text(), id in text()) {
        let body = json!({
            "Code": code, "LastUpdated": updated,
            "InstanceProfileArn": arn, "InstanceProfileId": id, "Extra": [1],
        });
        let info: IamInfo = document::parse_json(PATH, &serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!((info.code, info.last_updated), (code, updated));
        prop_assert_eq!((info.instance_profile_arn, info.instance_profile_id), (arn, id));
    }
}
