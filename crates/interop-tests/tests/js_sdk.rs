//! The AWS SDK for JavaScript v3 (pinned in `peers/node/package-lock.json`)
//! against the mock: `fromInstanceMetadata` credentials from
//! `@smithy/credential-provider-imds`, and instance-id and region through
//! `@aws-sdk/ec2-metadata-service`'s `MetadataService`. They must read what
//! our client reads, with IMDSv1 off, and never read without a token even
//! when IMDSv1 is on.

mod support;

use interop_tests::peers::Peer;

async fn js_sdk_against(imdsv1_allowed: bool) {
    let Some(node) = support::peer(Peer::node, "the JavaScript SDK").await else {
        return;
    };
    let server = support::mock(imdsv1_allowed).await;
    let home = tempfile::tempdir().unwrap();
    let read = support::run(node.command("js_sdk_peer.cjs"), &server, home.path()).await;
    support::assert_every_read_had_a_token(&server, "the JavaScript SDK");
    // MetadataService sends `//latest/...` (its endpoint's path, `/`, then
    // the path asked for): real IMDS ignores the repeated slash, so does
    // the mock.
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "//latest/meta-data/instance-id"),
        "{:?}",
        server.requests()
    );

    for package in [
        "@smithy/credential-provider-imds",
        "@aws-sdk/ec2-metadata-service",
    ] {
        assert_eq!(
            read["versions"][package],
            support::pinned("node", "package.json", package),
            "{package}"
        );
    }

    let ours = support::our_reading(&server).await;
    let credentials = &read["credentials"];
    assert_eq!(credentials["accessKeyId"], ours.access_key_id.as_str());
    assert_eq!(
        credentials["secretAccessKey"],
        ours.secret_access_key.as_str()
    );
    assert_eq!(credentials["sessionToken"], ours.session_token.as_str());
    assert_eq!(support::time(&credentials["expiration"]), ours.expiration);
    assert_eq!(read["instanceId"], ours.instance_id.as_str());
    assert_eq!(read["region"], ours.region.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_js_sdk_reads_what_we_read_with_imdsv1_off() {
    js_sdk_against(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_js_sdk_sends_no_tokenless_read_when_imdsv1_is_allowed() {
    js_sdk_against(true).await;
}
