//! `Client::walk` against imds-mock.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use imds::Error;
use imds::client::MAX_WALK_DEPTH;
use imds::error::ResponseError;
use imds_mock::{MockImds, defaults};
use serde_json::json;
use support::{builder_for, client_for};

#[tokio::test]
async fn the_whole_tree() {
    let mock = MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1")])
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    let tree = client.walk("").await.unwrap().unwrap();
    let meta = &tree["meta-data"];
    assert_eq!(meta["instance-id"], defaults::INSTANCE_ID);
    assert_eq!(meta["placement"]["region"], defaults::REGION);
    assert_eq!(meta["tags"]["instance"]["Name"], "web-1");
    assert_eq!(meta["events"]["maintenance"]["scheduled"], json!([]));
    // JSON documents are parsed.
    assert_eq!(meta["iam"]["info"]["Code"], "Success");
    let credentials = &meta["iam"]["security-credentials"]["imds-mock-role"];
    assert!(
        credentials["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );
    let document = &tree["dynamic"]["instance-identity"]["document"];
    assert_eq!(document["instanceId"], defaults::INSTANCE_ID);
    // Public keys are keyed by index, the path segment.
    assert!(
        meta["public-keys"]["0"]["openssh-key"]
            .as_str()
            .unwrap()
            .starts_with("ssh-ed25519 ")
    );
    let nic = &meta["network"]["interfaces"]["macs"][defaults::MAC];
    assert_eq!(nic["vpc-id"], defaults::VPC_ID);
    // user-data is left out, and was never fetched.
    assert!(tree.get("user-data").is_none());
    assert_eq!(mock.stats().path_count("/latest/user-data"), 0);
    // One token for all of it; every listed path fetched once.
    let stats = mock.stats();
    assert_eq!(stats.token_puts, 1);
    assert!(stats.per_path.values().all(|&n| n == 1), "{stats:?}");
    assert!(stats.reads > 40, "{stats:?}");
}

#[tokio::test]
async fn a_subtree_a_leaf_and_an_absent_prefix() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let placement = client.walk("meta-data/placement/").await.unwrap().unwrap();
    assert_eq!(
        placement,
        json!({
            "availability-zone": defaults::AVAILABILITY_ZONE,
            "availability-zone-id": defaults::AVAILABILITY_ZONE_ID,
            "region": defaults::REGION,
        })
    );
    let same = client
        .walk("/latest/meta-data/placement/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(placement, same);
    let leaf = client.walk("meta-data/instance-id").await.unwrap();
    assert_eq!(leaf, Some(json!(defaults::INSTANCE_ID)));
    let document = client
        .walk("dynamic/instance-identity/document")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(document["region"], defaults::REGION);
    assert_eq!(client.walk("meta-data/nothing/").await.unwrap(), None);
    assert!(matches!(
        client.walk("a b/").await,
        Err(Error::InvalidPath { .. })
    ));
}

#[tokio::test]
async fn a_failure_fails_the_walk() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).attempts(1).build().unwrap();
    client.instance_id().await.unwrap();
    mock.fail_fraction(1.0, http::StatusCode::INTERNAL_SERVER_ERROR, 1);
    let error = client.walk("meta-data/").await.unwrap_err();
    assert!(matches!(error, Error::Status { .. }), "{error:?}");
}

#[tokio::test]
async fn a_self_containing_listing_is_cut_off() {
    // A (broken) endpoint whose every directory lists itself again.
    let mock = MockImds::start_default().await.unwrap();
    let mut path = String::from("meta-data/loop");
    for _ in 0..=MAX_WALK_DEPTH {
        path.push_str("/loop");
    }
    mock.set_metadata(&path, "deep");
    let client = client_for(&mock);
    let error = client.walk("meta-data/").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::BadResponse {
                reason: ResponseError::TooDeep { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_latency(Duration::from_millis(5));
    let http = support::plain_http();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let counting = {
        let (in_flight, most) = (in_flight.clone(), most.clone());
        tower::service_fn(
            move |request: http::Request<http_body_util::Empty<bytes::Bytes>>| {
                let http = http.clone();
                let (in_flight, most) = (in_flight.clone(), most.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let response = http.request(request).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    response
                }
            },
        )
    };
    let client = builder_for(&mock)
        .http_service(counting)
        .concurrency(3)
        .build()
        .unwrap();
    let tree = client.walk("meta-data/").await.unwrap().unwrap();
    assert_eq!(tree["instance-id"], defaults::INSTANCE_ID);
    let most = most.load(Ordering::SeqCst);
    assert!((2..=3).contains(&most), "{most}");
}
