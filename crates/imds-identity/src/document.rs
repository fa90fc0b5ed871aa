//! The identity document's fields: one type for the whole workspace (the
//! `imds` client returns it too, as `imds::document::IdentityDocument`).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// `dynamic/instance-identity/document`, typed. Unknown fields are
/// ignored, so a field AWS adds never breaks parsing.
///
/// Built without the `verify` feature too, so that a client reading it
/// (`imds::Client::identity_document`) compiles no cryptography; a
/// verified one comes from `VerifiedDocument::document`.
///
/// ```
/// use imds_identity::IdentityDocument;
///
/// let doc: IdentityDocument = serde_json::from_str(r#"{
///   "accountId" : "123456789012", "architecture" : "x86_64",
///   "availabilityZone" : "eu-west-1a", "imageId" : "ami-0abcdef1234567890",
///   "instanceId" : "i-0123456789abcdef0", "instanceType" : "t3.micro",
///   "pendingTime" : "2024-01-01T00:00:00Z", "privateIp" : "10.0.0.1",
///   "region" : "eu-west-1", "version" : "2017-09-30", "kernelId" : null
/// }"#)?;
/// assert_eq!(doc.region, "eu-west-1");
/// assert_eq!(
///     doc.pending_at(),
///     Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200))
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
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
    /// When the instance was last launched or started (RFC 3339), as
    /// written; [`pending_at`](Self::pending_at) parses it.
    pub pending_time: String,
    /// The primary private IPv4 address; `None` on IPv6-only instances.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// The region, e.g. `eu-west-1`.
    pub region: String,
    /// The document format's version (`2017-09-30`, or `2010-08-31` on
    /// old documents).
    pub version: String,
    /// The kernel ID, when there is one.
    #[serde(default)]
    pub kernel_id: Option<String>,
    /// The RAM disk ID, when there is one.
    #[serde(default)]
    pub ramdisk_id: Option<String>,
    /// Billing products, when there are any.
    #[serde(default)]
    pub billing_products: Option<Vec<String>>,
    /// Marketplace product codes, when there are any.
    #[serde(default)]
    pub marketplace_product_codes: Option<Vec<String>>,
    /// DevPay product codes (retired), when there are any.
    #[serde(default)]
    pub devpay_product_codes: Option<Vec<String>>,
}

impl IdentityDocument {
    /// [`pending_time`](Self::pending_time) as a [`SystemTime`]; `None`
    /// if it is not RFC 3339.
    pub fn pending_at(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339(&self.pending_time).ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

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
    fn every_field_and_back() {
        let doc: IdentityDocument = serde_json::from_str(IDENTITY).unwrap();
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
        assert_eq!(doc.devpay_product_codes, None);
        assert_eq!(
            doc.marketplace_product_codes,
            Some(vec!["1abc2defghijklm3nopqrs4tu".to_owned()])
        );
        // Serialises back with the same field names.
        let value = serde_json::to_value(&doc).unwrap();
        assert_eq!(value["accountId"], "123456789012");
        assert_eq!(value["kernelId"], serde_json::Value::Null);
        assert_eq!(value["devpayProductCodes"], serde_json::Value::Null);
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let mut value: serde_json::Value = serde_json::from_str(IDENTITY).unwrap();
        let object = value.as_object_mut().unwrap();
        for key in [
            "kernelId",
            "ramdiskId",
            "billingProducts",
            "devpayProductCodes",
            "marketplaceProductCodes",
            "privateIp",
        ] {
            object.remove(key);
        }
        let doc: IdentityDocument = serde_json::from_value(value).unwrap();
        assert_eq!(doc.private_ip, None);
        assert_eq!(doc.marketplace_product_codes, None);
        assert_eq!(doc.devpay_product_codes, None);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let mut value: serde_json::Value = serde_json::from_str(IDENTITY).unwrap();
        value.as_object_mut().unwrap().remove("region");
        let message = serde_json::from_value::<IdentityDocument>(value)
            .unwrap_err()
            .to_string();
        assert!(message.contains("missing field `region`"), "{message}");
    }

    #[test]
    fn pending_at_parses_rfc3339_only() {
        let mut doc: IdentityDocument = serde_json::from_str(IDENTITY).unwrap();
        assert_eq!(
            doc.pending_at(),
            Some(UNIX_EPOCH + Duration::from_secs(1_479_573_131))
        );
        for text in ["", "soon", "2016-11-19 16:32:11", "2016-11-19T16:32:11"] {
            doc.pending_time = text.to_owned();
            assert_eq!(doc.pending_at(), None, "{text:?}");
        }
    }
}
