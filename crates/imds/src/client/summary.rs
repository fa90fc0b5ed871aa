//! [`Client::instance_summary`]: the values most programs want to know
//! about the instance they run on, read together in two requests.

use super::Client;
use crate::error::Error;

/// Where and what the instance is: what programs usually look up first
/// (the region for an SDK, the instance ID for a log line, the
/// availability zone for placement). None of it changes while the
/// instance runs.
///
/// Read by [`Client::instance_summary`]. Marked non-exhaustive: values
/// may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceSummary {
    /// The instance ID, e.g. `i-0b22a22eec53b9321`.
    pub instance_id: String,
    /// The instance type, e.g. `t3.micro`.
    pub instance_type: String,
    /// The AMI the instance was launched from.
    pub image_id: String,
    /// The AWS account that owns the instance.
    pub account_id: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The availability zone, e.g. `us-east-1a`.
    pub availability_zone: String,
    /// The availability zone's ID, the same zone in every account (e.g.
    /// `use1-az4`); `None` where IMDS does not serve it.
    pub availability_zone_id: Option<String>,
    /// The primary private IPv4 address; `None` on IPv6-only instances.
    pub private_ipv4: Option<String>,
}

impl Client {
    /// The instance's [`InstanceSummary`]: the identity document
    /// (`dynamic/instance-identity/document`) and
    /// `meta-data/placement/availability-zone-id`, fetched concurrently.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let summary = client.instance_summary().await?;
    /// assert_eq!(summary.region, "us-east-1");
    /// assert_eq!(summary.availability_zone_id.as_deref(), Some("use1-az4"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn instance_summary(&self) -> Result<InstanceSummary, Error> {
        let (document, zone_id) = tokio::try_join!(
            self.identity_document(),
            self.get_text("meta-data/placement/availability-zone-id"),
        )?;
        Ok(InstanceSummary {
            instance_id: document.instance_id,
            instance_type: document.instance_type,
            image_id: document.image_id,
            account_id: document.account_id,
            region: document.region,
            availability_zone: document.availability_zone,
            availability_zone_id: zone_id.map(|id| id.trim().to_owned()),
            private_ipv4: document.private_ip,
        })
    }
}
