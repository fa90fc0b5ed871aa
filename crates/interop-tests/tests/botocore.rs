//! botocore and boto3 (Python, pinned in `peers/python/requirements.txt`)
//! against the mock: `InstanceMetadataFetcher` role credentials,
//! `InstanceMetadataRegionFetcher` region, and a boto3 session with no
//! other credentials source. They must read what our client reads, with
//! IMDSv1 off, and never read without a token even when IMDSv1 is on.

mod support;

use interop_tests::peers::Peer;
use serde_json::Value;

async fn botocore_against(imdsv1_allowed: bool) {
    let Some(python) = support::peer(Peer::python, "botocore").await else {
        return;
    };
    let server = support::mock(imdsv1_allowed).await;
    let home = tempfile::tempdir().unwrap();
    let read = support::run(python.command("botocore_peer.py"), &server, home.path()).await;
    support::assert_every_read_had_a_token(&server, "botocore");

    let versions = &read["versions"];
    assert_eq!(
        versions["botocore"],
        support::pinned("python", "requirements.txt", "botocore")
    );
    assert_eq!(
        versions["boto3"],
        support::pinned("python", "requirements.txt", "boto3")
    );
    let imported_from = versions["botocore_file"].as_str().unwrap();
    assert!(
        imported_from.starts_with(python.dir().to_str().unwrap()),
        "the pinned botocore, not another one: {imported_from}"
    );

    let ours = support::our_reading(&server).await;
    let fetcher = &read["fetcher"];
    assert_eq!(fetcher["role_name"], "imds-mock-role");
    assert_eq!(fetcher["access_key"], ours.access_key_id.as_str());
    assert_eq!(fetcher["secret_key"], ours.secret_access_key.as_str());
    assert_eq!(fetcher["token"], ours.session_token.as_str());
    assert_eq!(support::time(&fetcher["expiry_time"]), ours.expiration);
    assert_eq!(read["region_fetcher"], ours.region.as_str());

    let session = &read["session"];
    assert_eq!(session["method"], "iam-role", "found by the IMDS provider");
    assert_eq!(session["access_key"], ours.access_key_id.as_str());
    assert_eq!(session["secret_key"], ours.secret_access_key.as_str());
    assert_eq!(session["token"], ours.session_token.as_str());
    // botocore takes no session region from IMDS (a finding, not a mock
    // gap): it reads the instance's region only for defaults_mode "auto",
    // where a client in that region gets the in-region connect timeout.
    assert_eq!(session["region_name"], Value::Null);
    assert_eq!(session["imds_region"], ours.region.as_str());
    assert_eq!(session["auto_connect_timeout_in_region"], 1.1);
    assert_eq!(session["auto_connect_timeout_elsewhere"], 3.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn botocore_reads_what_we_read_with_imdsv1_off() {
    botocore_against(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn botocore_sends_no_tokenless_read_when_imdsv1_is_allowed() {
    botocore_against(true).await;
}
