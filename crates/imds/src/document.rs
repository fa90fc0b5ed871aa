//! Typed IMDS documents (and, crate-private, turning response bodies into
//! text or JSON).
//!
//! Unknown fields are ignored everywhere, so new fields added by AWS never
//! break parsing. The client's getters return them
//! ([`Client::identity_document`](crate::Client::identity_document), ...);
//! [`Client::get_json`](crate::Client::get_json) reads any of them from a
//! path, and they deserialize from JSON read elsewhere. The identity
//! document is the `imds-identity` crate's [`IdentityDocument`], the type
//! its verifier returns too (the `identity` feature), here without any
//! cryptography:
//!
//! ```
//! use imds::document::IdentityDocument;
//!
//! let body = br#"{
//!   "accountId": "123456789012", "architecture": "x86_64",
//!   "availabilityZone": "eu-west-1a", "imageId": "ami-0abcdef1234567890",
//!   "instanceId": "i-0123456789abcdef0", "instanceType": "t3.micro",
//!   "pendingTime": "2024-01-01T00:00:00Z", "privateIp": "10.0.0.1",
//!   "region": "eu-west-1", "version": "2017-09-30", "kernelId": null
//! }"#;
//! let doc: IdentityDocument = serde_json::from_slice(body)?;
//! assert_eq!(doc.region, "eu-west-1");
//! assert_eq!(doc.kernel_id, None);
//! assert!(doc.pending_at().is_some()); // pendingTime, parsed
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ResponseError};

// `dynamic/instance-identity/document`: imds-identity's type (built
// without its cryptography), the one its verifier returns too.
pub use imds_identity::IdentityDocument;

/// `meta-data/iam/info`: the instance profile attached to the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct IamInfo {
    /// `Success` when the instance profile is usable.
    pub code: String,
    /// When the information last changed (RFC 3339), as written.
    pub last_updated: String,
    /// The instance profile's ARN.
    pub instance_profile_arn: String,
    /// The instance profile's ID.
    pub instance_profile_id: String,
}

/// `meta-data/spot/instance-action`: present only when a Spot instance is
/// about to be interrupted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpotInstanceAction {
    /// `terminate`, `stop` or `hibernate`; kept as a string so that a new
    /// action never fails parsing.
    pub action: String,
    /// When the action happens (RFC 3339), as written.
    pub time: String,
}

impl SpotInstanceAction {
    /// [`time`](Self::time) as a [`SystemTime`]; `None` if it is not RFC 3339.
    pub fn deadline(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339_weak(&self.time).ok()
    }
}

/// The body of the response to `path` as UTF-8 text.
pub(crate) fn parse_text<'a>(path: &str, body: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(body).map_err(|_| Error::bad_response(path, ResponseError::NotUtf8))
}

/// The body of the response to `path` as the JSON document `T`.
///
/// For documents holding no secrets only: the error message may quote a
/// value of the document (as serde does for a value of the wrong type).
pub(crate) fn parse_json<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|error| Error::bad_response(path, ResponseError::Json(error.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    // The document's fields are tested with its type, in imds-identity;
    // here, that the client's parser names the path and serde's reason.
    #[test]
    fn identity_document_missing_required_field() {
        let body = br#"{"accountId": "123456789012", "architecture": "x86_64",
            "availabilityZone": "us-east-1a", "imageId": "ami-5fb8c835",
            "instanceId": "i-1234567890abcdef0", "instanceType": "t2.micro",
            "pendingTime": "2016-11-19T16:32:11Z", "version": "2017-09-30"}"#;
        let error = parse_json::<IdentityDocument>("/doc", body).unwrap_err();
        match &error {
            Error::BadResponse {
                path,
                reason: ResponseError::Json(message),
            } => {
                assert_eq!(path, "/doc");
                assert!(message.contains("missing field `region`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn iam_info() {
        let body = br#"{
          "Code" : "Success",
          "LastUpdated" : "2024-05-01T10:00:00Z",
          "InstanceProfileArn" : "arn:aws:iam::123456789012:instance-profile/web",
          "InstanceProfileId" : "AIPAEXAMPLE",
          "Extra": 1
        }"#;
        let info: IamInfo = parse_json("/info", body).unwrap();
        assert_eq!(info.code, "Success");
        assert_eq!(info.last_updated, "2024-05-01T10:00:00Z");
        assert_eq!(
            info.instance_profile_arn,
            "arn:aws:iam::123456789012:instance-profile/web"
        );
        assert_eq!(info.instance_profile_id, "AIPAEXAMPLE");
    }

    #[test]
    fn spot_instance_action() {
        let body = br#"{"action": "terminate", "time": "2017-09-18T08:22:00Z"}"#;
        let action: SpotInstanceAction = parse_json("/spot", body).unwrap();
        assert_eq!(action.action, "terminate");
        assert_eq!(
            action.deadline(),
            Some(std::time::UNIX_EPOCH + Duration::from_secs(1_505_722_920))
        );
        let odd = SpotInstanceAction {
            action: "stop".into(),
            time: "soon".into(),
        };
        assert_eq!(odd.deadline(), None);
    }

    #[test]
    fn bad_bodies() {
        assert!(matches!(
            parse_text("/t", b"\xff"),
            Err(Error::BadResponse {
                reason: ResponseError::NotUtf8,
                ..
            })
        ));
        assert_eq!(parse_text("/t", b"i-123").unwrap(), "i-123");
        for body in [
            &b""[..],
            b"not json",
            b"[1,2]",
            b"\xff\xfe",
            b"{\"action\": 1}",
        ] {
            let error = parse_json::<SpotInstanceAction>("/spot", body).unwrap_err();
            assert!(
                matches!(
                    error,
                    Error::BadResponse {
                        reason: ResponseError::Json(_),
                        ..
                    }
                ),
                "{error:?}"
            );
        }
    }
}
