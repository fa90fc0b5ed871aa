//! Typed IMDS documents (and, crate-private, turning response bodies into
//! text or JSON).
//!
//! Unknown fields are ignored everywhere, so new fields added by AWS never
//! break parsing. The client's getters return them
//! ([`Client::identity_document`](crate::Client::identity_document), ...);
//! [`Client::get_json`](crate::Client::get_json) reads any of them from a
//! path, and they deserialize from JSON read elsewhere:
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
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ResponseError};

/// `dynamic/instance-identity/document`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IdentityDocument {
    /// The AWS account ID.
    pub account_id: String,
    /// The CPU architecture, e.g. `x86_64` or `arm64`.
    pub architecture: String,
    /// The availability zone, e.g. `eu-west-1a`.
    pub availability_zone: String,
    /// The AMI ID.
    pub image_id: String,
    /// The instance ID.
    pub instance_id: String,
    /// The instance type, e.g. `t3.micro`.
    pub instance_type: String,
    /// When the instance was launched (RFC 3339), as written.
    pub pending_time: String,
    /// The primary private IPv4 address; `None` on IPv6-only instances.
    pub private_ip: Option<String>,
    /// The region, e.g. `eu-west-1`.
    pub region: String,
    /// The document format's version.
    pub version: String,
    /// The kernel ID, when there is one.
    pub kernel_id: Option<String>,
    /// The RAM disk ID, when there is one.
    pub ramdisk_id: Option<String>,
    /// Billing products, when there are any.
    pub billing_products: Option<Vec<String>>,
    /// Marketplace product codes, when there are any.
    pub marketplace_product_codes: Option<Vec<String>>,
}

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

    const IDENTITY: &str = r#"{
        "accountId" : "123456789012",
        "architecture" : "x86_64",
        "availabilityZone" : "us-east-1a",
        "billingProducts" : null,
        "devpayProductCodes" : null,
        "marketplaceProductCodes" : [ "1abc2defghijklm3nopqrs4tu" ],
        "imageId" : "ami-5fb8c835",
        "instanceId" : "i-1234567890abcdef0",
        "instanceType" : "t2.micro",
        "kernelId" : null,
        "pendingTime" : "2016-11-19T16:32:11Z",
        "privateIp" : "172.31.11.139",
        "ramdiskId" : null,
        "region" : "us-east-1",
        "version" : "2017-09-30",
        "somethingNew" : {"nested": true}
    }"#;

    #[test]
    fn identity_document() {
        let doc: IdentityDocument = parse_json("/doc", IDENTITY.as_bytes()).unwrap();
        assert_eq!(doc.account_id, "123456789012");
        assert_eq!(doc.architecture, "x86_64");
        assert_eq!(doc.availability_zone, "us-east-1a");
        assert_eq!(doc.image_id, "ami-5fb8c835");
        assert_eq!(doc.instance_id, "i-1234567890abcdef0");
        assert_eq!(doc.instance_type, "t2.micro");
        assert_eq!(doc.pending_time, "2016-11-19T16:32:11Z");
        assert_eq!(doc.private_ip.as_deref(), Some("172.31.11.139"));
        assert_eq!(doc.region, "us-east-1");
        assert_eq!(doc.version, "2017-09-30");
        assert_eq!(doc.kernel_id, None);
        assert_eq!(doc.ramdisk_id, None);
        assert_eq!(doc.billing_products, None);
        assert_eq!(
            doc.marketplace_product_codes,
            Some(vec!["1abc2defghijklm3nopqrs4tu".to_owned()])
        );
        // Serialises back with the same field names.
        let value = serde_json::to_value(&doc).unwrap();
        assert_eq!(value["accountId"], "123456789012");
        assert_eq!(value["kernelId"], serde_json::Value::Null);
    }

    #[test]
    fn identity_document_optional_fields_may_be_absent() {
        let mut value: serde_json::Value = serde_json::from_str(IDENTITY).unwrap();
        let object = value.as_object_mut().unwrap();
        for key in [
            "kernelId",
            "ramdiskId",
            "billingProducts",
            "marketplaceProductCodes",
            "privateIp",
        ] {
            object.remove(key);
        }
        let doc: IdentityDocument = parse_json("/doc", value.to_string().as_bytes()).unwrap();
        assert_eq!(doc.private_ip, None);
        assert_eq!(doc.marketplace_product_codes, None);
    }

    #[test]
    fn identity_document_missing_required_field() {
        let mut value: serde_json::Value = serde_json::from_str(IDENTITY).unwrap();
        value.as_object_mut().unwrap().remove("region");
        let error =
            parse_json::<IdentityDocument>("/doc", value.to_string().as_bytes()).unwrap_err();
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
