//! The identity document's fields.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// `dynamic/instance-identity/document`, typed. Unknown fields are
/// ignored, so a field AWS adds never breaks parsing.
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
