//! `Client::instance_summary` against imds-mock.

mod support;

use imds::client::InstanceSummary;
use imds_mock::MockImds;
use imds_mock::defaults::*;
use support::client_for;

#[tokio::test]
async fn the_summary_is_the_identity_document_and_the_zone_id_in_two_reads() {
    let mock = MockImds::start_default().await.unwrap();
    let summary = client_for(&mock).instance_summary().await.unwrap();
    let expected = (
        INSTANCE_ID,
        INSTANCE_TYPE,
        AMI_ID,
        ACCOUNT_ID,
        REGION,
        AVAILABILITY_ZONE,
        Some(AVAILABILITY_ZONE_ID),
        Some(LOCAL_IPV4),
    );
    let InstanceSummary {
        instance_id,
        instance_type,
        image_id,
        account_id,
        region,
        availability_zone,
        availability_zone_id,
        private_ipv4,
        ..
    } = &summary;
    assert_eq!(
        (
            instance_id.as_str(),
            instance_type.as_str(),
            image_id.as_str(),
            account_id.as_str(),
            region.as_str(),
            availability_zone.as_str(),
            availability_zone_id.as_deref(),
            private_ipv4.as_deref(),
        ),
        expected
    );
    assert_eq!(mock.stats().reads, 2);
}

#[tokio::test]
async fn a_zone_id_imds_does_not_serve_is_none() {
    let mock = MockImds::builder()
        .remove("meta-data/placement/availability-zone-id")
        .build()
        .start()
        .await
        .unwrap();
    let summary = client_for(&mock).instance_summary().await.unwrap();
    assert_eq!(summary.availability_zone_id, None);
    assert_eq!(summary.availability_zone, AVAILABILITY_ZONE);
}
