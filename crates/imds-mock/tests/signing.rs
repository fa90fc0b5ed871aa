//! The identity document's signatures over HTTP: served as IMDS serves
//! them, over the document served at the time, whichever way it changed.
//! (That they verify, and are laid out as AWS's, is checked against the
//! certificates in the crate's unit tests, and by imds-identity in the
//! workspace's end-to-end tests.)

#![cfg(feature = "signing")]

mod common;

use common::{get, get_v2, token};
use http::StatusCode;
use imds_mock::{IdentitySigner, MockImds, SignatureForm};

const DOCUMENT: &str = "/latest/dynamic/instance-identity/document";

fn url_path(form: SignatureForm) -> String {
    format!("/latest/{}", form.path())
}

/// The document served now and each form's signature, fetched together.
async fn material(server: &MockImds) -> (Vec<u8>, Vec<String>) {
    let token = token(server).await;
    let document = get(server, DOCUMENT, Some(&token)).await;
    assert_eq!(document.status, StatusCode::OK);
    let mut signatures = Vec::new();
    for form in SignatureForm::ALL {
        let reply = get(server, &url_path(form), Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{form}");
        assert_eq!(reply.header("content-type"), Some("text/plain"), "{form}");
        signatures.push(reply.text().to_owned());
    }
    (document.body.to_vec(), signatures)
}

/// Every signature served is the authority's over the document served.
fn assert_signed_by(signer: &IdentitySigner, document: &[u8], signatures: &[String]) {
    for (form, served) in SignatureForm::ALL.into_iter().zip(signatures) {
        assert_eq!(*served, signer.sign(form, document).unwrap(), "{form}");
    }
}

#[tokio::test]
async fn each_form_is_served_as_imds_serves_it() {
    let server = MockImds::start_default().await.unwrap();
    let (document, signatures) = material(&server).await;
    assert_signed_by(IdentitySigner::test(), &document, &signatures);
    for (form, text) in SignatureForm::ALL.into_iter().zip(&signatures) {
        assert!(!text.contains("BEGIN"), "{form}: no PEM armour");
        assert!(!text.ends_with('\n'), "{form}: no final newline");
        let lines: Vec<usize> = text.split('\n').map(str::len).collect();
        assert!(
            lines[..lines.len() - 1].iter().all(|&len| len == 76),
            "{form}: {lines:?}"
        );
    }
    // Token-gated like every read.
    let reply = get(&server, &url_path(SignatureForm::Rsa2048), None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_signatures_follow_the_instance_and_region() {
    let server = MockImds::start_default().await.unwrap();
    let (before, signed_before) = material(&server).await;
    server.set_metadata("meta-data/instance-id", "i-0fedcba9876543210");
    server.set_metadata("meta-data/placement/region", "eu-west-1");
    let (after, signed_after) = material(&server).await;
    let json: serde_json::Value = serde_json::from_slice(&after).unwrap();
    assert_eq!(json["instanceId"], "i-0fedcba9876543210");
    assert_eq!(json["region"], "eu-west-1");
    assert_ne!(before, after);
    assert_signed_by(IdentitySigner::test(), &after, &signed_after);
    for (form, (old, new)) in SignatureForm::ALL
        .into_iter()
        .zip(signed_before.iter().zip(&signed_after))
    {
        assert_ne!(old, new, "{form}");
    }
}

#[tokio::test]
async fn the_account_and_pending_time_come_from_the_config() {
    let server = MockImds::builder()
        .account_id("210987654321")
        .pending_time("2026-03-01T12:00:00Z")
        .build()
        .start()
        .await
        .unwrap();
    let (document, signatures) = material(&server).await;
    let json: serde_json::Value = serde_json::from_slice(&document).unwrap();
    assert_eq!(json["accountId"], "210987654321");
    assert_eq!(json["pendingTime"], "2026-03-01T12:00:00Z");
    assert_signed_by(IdentitySigner::test(), &document, &signatures);
    // The rest of the instance agrees.
    let owner = get_v2(
        &server,
        &format!(
            "/latest/meta-data/network/interfaces/macs/{}/owner-id",
            imds_mock::defaults::MAC
        ),
    )
    .await;
    assert_eq!(owner.text(), "210987654321");
    let info = get_v2(&server, "/latest/meta-data/iam/info").await.json();
    assert!(
        info["InstanceProfileArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::210987654321:"),
        "{info}"
    );
}

#[tokio::test]
async fn a_replaced_document_is_signed_byte_for_byte_and_a_removed_one_is_not() {
    let server = MockImds::start_default().await.unwrap();
    let odd = b"{\"region\" : \"xx-test-1\",   \"accountId\" : \"000000000000\"}\n";
    server.set_metadata("dynamic/instance-identity/document", &odd[..]);
    let (document, signatures) = material(&server).await;
    assert_eq!(document, odd);
    assert_signed_by(IdentitySigner::test(), odd, &signatures);

    server.remove_metadata("dynamic/instance-identity/document");
    for form in SignatureForm::ALL {
        let reply = get_v2(&server, &url_path(form)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{form}");
    }
}

#[tokio::test]
async fn the_signing_authority_can_be_switched() {
    let server = MockImds::start_default().await.unwrap();
    assert_eq!(server.identity_signer().name(), "test");
    let (document, by_test) = material(&server).await;
    server.set_identity_signer(IdentitySigner::impostor());
    assert_eq!(server.identity_signer().name(), "impostor");
    let (same_document, by_impostor) = material(&server).await;
    assert_eq!(document, same_document);
    assert_signed_by(IdentitySigner::impostor(), &document, &by_impostor);
    for (form, (test, impostor)) in SignatureForm::ALL
        .into_iter()
        .zip(by_test.iter().zip(&by_impostor))
    {
        assert_ne!(test, impostor, "{form}");
    }
    server.set_identity_signer(IdentitySigner::test());
    assert_eq!(material(&server).await.1, by_test);
}

#[tokio::test]
async fn signatures_can_be_replaced_like_any_leaf() {
    // A test that wants a malformed signature sets one.
    let server = MockImds::start_default().await.unwrap();
    server.set_metadata(SignatureForm::Pkcs7.path(), "not base64!");
    let reply = get_v2(&server, &url_path(SignatureForm::Pkcs7)).await;
    assert_eq!(reply.text(), "not base64!");
}
