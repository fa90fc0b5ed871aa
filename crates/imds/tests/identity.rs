//! The instance identity end to end: the client reads the material the
//! mock signs, and imds-identity verifies it with the mock's certificates,
//! in every form; and refuses it with the wrong certificate, a document
//! changed by one byte, a truncated or garbage PKCS#7, a signature from
//! another key, past the maximum age and from another account.

#![cfg(feature = "identity")]

mod support;

use std::time::Duration;

use imds::Client;
use imds::identity::{
    CertificateSource, Form, IdentityError, PolicyError, VerifiedDocument, Verifier, VerifyError,
};
use imds_mock::{IdentitySigner, MockImds, SignatureForm, defaults};
use support::client_for;

const MINUTE: Duration = Duration::from_secs(60);

/// The mock's name for a form.
fn mock_form(form: Form) -> SignatureForm {
    match form {
        Form::Rsa2048 => SignatureForm::Rsa2048,
        Form::Signature => SignatureForm::Signature,
        Form::Pkcs7 => SignatureForm::Pkcs7,
    }
}

/// The forms this build verifies.
fn forms() -> Vec<Form> {
    let mut forms = vec![Form::Rsa2048, Form::Signature];
    if cfg!(feature = "identity-legacy-pkcs7") {
        forms.push(Form::Pkcs7);
    }
    forms
}

/// A verifier that trusts only the mock's test certificate for `form`,
/// for documents from `region`.
fn trusting(form: Form, region: &str) -> Verifier {
    let pem = IdentitySigner::test().certificate_pem(mock_form(form));
    let verifier = Verifier::empty()
        .with_certificate(region, form, pem)
        .unwrap();
    #[cfg(feature = "identity-legacy-pkcs7")]
    let verifier = verifier.allow_legacy_pkcs7(true);
    verifier
}

async fn refused(client: &Client, verifier: &Verifier) -> VerifyError {
    match client.verify_identity(verifier).await {
        Err(IdentityError::Refused(error)) => error,
        Err(other) => panic!("not a refusal: {other}"),
        Ok(verified) => panic!("verified: {:?}", verified.form()),
    }
}

/// A refusal quotes no signature material: no long base64 run.
fn assert_quotes_no_material(error: &VerifyError) {
    let message = error.to_string();
    let mut run = 0;
    for c in message.chars() {
        run = if c.is_ascii_alphanumeric() || c == '+' || c == '=' {
            run + 1
        } else {
            0
        };
        assert!(run < 24, "a base64-like run in {message:?}");
    }
}

#[tokio::test]
async fn the_raw_material_is_what_the_mock_serves_and_signs() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let document = client.identity_document_bytes().await.unwrap();
    let typed = client.identity_document().await.unwrap();
    assert_eq!(typed.instance_id, defaults::INSTANCE_ID);
    // Byte for byte: the served layout, not a re-serialisation.
    assert!(document.starts_with(b"{\n  \"accountId\" : \"123456789012\",\n"));
    let signer = IdentitySigner::test();
    for (form, served) in [
        (
            SignatureForm::Rsa2048,
            client.identity_rsa2048().await.unwrap(),
        ),
        (
            SignatureForm::Signature,
            client.identity_signature().await.unwrap(),
        ),
        (SignatureForm::Pkcs7, client.identity_pkcs7().await.unwrap()),
    ] {
        assert_eq!(served, signer.sign(form, &document).unwrap(), "{form}");
    }
    // A signature IMDS does not serve is a 404 error.
    mock.remove_metadata(SignatureForm::Pkcs7.path());
    let error = client.identity_pkcs7().await.unwrap_err();
    assert!(
        matches!(&error, imds::Error::Status { status, path }
            if status.as_u16() == 404 && path == "/latest/dynamic/instance-identity/pkcs7"),
        "{error:?}"
    );
}

#[tokio::test]
async fn every_form_verifies_with_the_mocks_certificate() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let document = client.identity_document_bytes().await.unwrap();
    let read: imds::document::IdentityDocument = client.identity_document().await.unwrap();
    for form in forms() {
        let verified: VerifiedDocument = client
            .verify_identity(&trusting(form, defaults::REGION))
            .await
            .unwrap_or_else(|error| panic!("{form}: {error}"));
        assert_eq!(verified.form(), form);
        assert_eq!(verified.certificate(), CertificateSource::Added);
        assert_eq!(verified.bytes(), &document, "{form}");
        let typed = verified.document();
        assert_eq!(typed.instance_id, defaults::INSTANCE_ID);
        assert_eq!(typed.account_id, defaults::ACCOUNT_ID);
        assert_eq!(typed.region, defaults::REGION);
        // One type: the document verified is the document read.
        assert_eq!(typed, &read, "{form}");
    }
}

#[tokio::test]
async fn a_changed_instance_region_account_and_pending_time_still_verify() {
    let mock = MockImds::builder()
        .account_id("210987654321")
        .pending_time("2026-03-01T12:00:00Z")
        .build()
        .start()
        .await
        .unwrap();
    mock.set_metadata("meta-data/instance-id", "i-0fedcba9876543210");
    mock.set_metadata("meta-data/placement/region", "eu-west-1");
    let client = client_for(&mock);
    for form in forms() {
        let verified = client
            .verify_identity(&trusting(form, "eu-west-1"))
            .await
            .unwrap_or_else(|error| panic!("{form}: {error}"));
        let typed = verified.document();
        assert_eq!(
            (
                typed.instance_id.as_str(),
                typed.region.as_str(),
                typed.account_id.as_str(),
                typed.pending_time.as_str()
            ),
            (
                "i-0fedcba9876543210",
                "eu-west-1",
                "210987654321",
                "2026-03-01T12:00:00Z"
            ),
            "{form}"
        );
    }
}

#[tokio::test]
async fn the_wrong_regions_certificate_is_refused() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    // The mock's certificate, trusted for another region only.
    for form in forms() {
        let error = refused(&client, &trusting(form, "eu-west-1")).await;
        assert!(
            matches!(&error, VerifyError::NoCertificate { region, .. } if region == "us-east-1"),
            "{form}: {error}"
        );
    }
    // AWS's own us-east-1 certificates (the embedded table): the region's,
    // but not the signer's.
    let error = refused(&client, &Verifier::new()).await;
    assert!(
        matches!(&error, VerifyError::SignerNotTrusted { form: Form::Rsa2048, region } if region == "us-east-1"),
        "{error}"
    );
    mock.remove_metadata(SignatureForm::Rsa2048.path());
    let error = refused(&client, &Verifier::new()).await;
    assert!(
        matches!(
            &error,
            VerifyError::BadSignature {
                form: Form::Signature,
                ..
            }
        ),
        "{error}"
    );
    assert_quotes_no_material(&error);
}

#[tokio::test]
async fn a_document_changed_by_one_byte_is_refused() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let document = client.identity_document_bytes().await.unwrap();
    // Freeze the signatures of the original, then change one byte of the
    // document served ("t3.micro" -> "t3.microX" would change the length;
    // a letter is flipped instead).
    for form in SignatureForm::ALL {
        let text = IdentitySigner::test().sign(form, &document).unwrap();
        mock.set_metadata(form.path(), text);
    }
    let mut changed = document.to_vec();
    let at = changed.windows(8).position(|w| w == b"t3.micro").unwrap();
    changed[at + 3] = b'n'; // t3.nicro
    mock.set_metadata("dynamic/instance-identity/document", changed);
    for form in forms() {
        let error = refused(&client, &trusting(form, defaults::REGION)).await;
        let expected = match form {
            // The embedded document is not the one given.
            Form::Rsa2048 | Form::Pkcs7 => matches!(error, VerifyError::ContentMismatch { .. }),
            Form::Signature => matches!(error, VerifyError::BadSignature { .. }),
        };
        assert!(expected, "{form}: {error}");
        assert_quotes_no_material(&error);
    }
}

#[tokio::test]
async fn a_truncated_or_garbage_pkcs7_is_refused() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let document = client.identity_document_bytes().await.unwrap();
    for form in forms().into_iter().filter(|form| *form != Form::Signature) {
        let path = mock_form(form).path();
        let good = IdentitySigner::test()
            .sign(mock_form(form), &document)
            .unwrap()
            .replace('\n', "");
        // Whole base64 quanta, so that only the truncation is wrong.
        let truncated = good[..good.len() / 2 / 4 * 4].to_owned();
        for bad in [
            truncated,
            "not base64 at all!".to_owned(),
            "AAAAAAAAAAAAAAAA".to_owned(),
            String::new(),
        ] {
            mock.set_metadata(path, bad.clone());
            let error = refused(&client, &trusting(form, defaults::REGION)).await;
            assert!(
                matches!(error, VerifyError::MalformedSignature { form: f, .. } if f == form),
                "{form} {:?}: {error}",
                &bad[..bad.len().min(12)]
            );
            assert_quotes_no_material(&error);
        }
    }
}

#[tokio::test]
async fn a_signature_from_another_key_is_refused() {
    let mock = MockImds::start_default().await.unwrap();
    // Same certificate names and serial numbers, other keys.
    mock.set_identity_signer(IdentitySigner::impostor());
    let client = client_for(&mock);
    for form in forms() {
        let error = refused(&client, &trusting(form, defaults::REGION)).await;
        assert!(
            matches!(error, VerifyError::BadSignature { form: f, .. } if f == form),
            "{form}: {error}"
        );
        assert_quotes_no_material(&error);
    }
}

// The mock's time and the client's follow tokio's paused clock together.
#[tokio::test(start_paused = true)]
async fn a_document_past_the_maximum_age_is_refused() {
    let launched = imds::clock::now() - 2 * MINUTE;
    let mock = MockImds::builder()
        .pending_time(humantime::format_rfc3339_seconds(launched).to_string())
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    for form in forms() {
        let verifier = trusting(form, defaults::REGION).max_age(5 * MINUTE);
        let verified = client.verify_identity(&verifier).await.unwrap();
        assert_eq!(verified.form(), form);
    }
    tokio::time::advance(4 * MINUTE).await; // six minutes since launch
    for form in forms() {
        let verifier = trusting(form, defaults::REGION).max_age(5 * MINUTE);
        let error = refused(&client, &verifier).await;
        let VerifyError::Policy(PolicyError::TooOld { age, max_age, .. }) = &error else {
            panic!("{form}: {error}");
        };
        assert!(*age >= 6 * MINUTE && *age < 7 * MINUTE, "{age:?}");
        assert_eq!(*max_age, 5 * MINUTE);
        assert!(error.to_string().starts_with("max age: "), "{error}");
    }
}

#[tokio::test]
async fn a_document_from_another_account_is_refused() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    for form in forms() {
        let verifier = trusting(form, defaults::REGION).allowed_accounts(["999999999999"]);
        let error = refused(&client, &verifier).await;
        assert!(
            matches!(&error, VerifyError::Policy(PolicyError::AccountNotAllowed { account_id })
                if account_id == defaults::ACCOUNT_ID),
            "{form}: {error}"
        );
        // The account the verifier allows passes.
        let verifier = trusting(form, defaults::REGION).allowed_accounts([defaults::ACCOUNT_ID]);
        client.verify_identity(&verifier).await.unwrap();
    }
}

#[tokio::test]
async fn imds_errors_are_not_refusals() {
    let mock = MockImds::start_default().await.unwrap();
    mock.remove_metadata("dynamic/instance-identity/document");
    let client = client_for(&mock);
    let error = client
        .verify_identity(&trusting(Form::Rsa2048, defaults::REGION))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IdentityError::Imds(imds::Error::Status { status, .. }) if status.as_u16() == 404),
        "{error}"
    );
}

#[tokio::test]
async fn the_other_forms_are_read_only_when_rsa2048_cannot_be_used() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let count = |form: SignatureForm| mock.stats().path_count(&format!("/latest/{}", form.path()));

    // The common case: the document and rsa2048, nothing else.
    let verified = client
        .verify_identity(&trusting(Form::Rsa2048, defaults::REGION))
        .await
        .unwrap();
    assert_eq!(verified.form(), Form::Rsa2048);
    assert_eq!(count(SignatureForm::Rsa2048), 1);
    assert_eq!(count(SignatureForm::Signature), 0);
    assert_eq!(count(SignatureForm::Pkcs7), 0);

    // No certificate trusted for rsa2048: the signature is read and used.
    let verified = client
        .verify_identity(&trusting(Form::Signature, defaults::REGION))
        .await
        .unwrap();
    assert_eq!(verified.form(), Form::Signature);
    assert_eq!(count(SignatureForm::Signature), 1);

    // rsa2048 not served: the signature is read and used.
    mock.remove_metadata(SignatureForm::Rsa2048.path());
    let both = trusting(Form::Rsa2048, defaults::REGION)
        .with_certificate(
            defaults::REGION,
            Form::Signature,
            IdentitySigner::test().certificate_pem(SignatureForm::Signature),
        )
        .unwrap();
    let verified = client.verify_identity(&both).await.unwrap();
    assert_eq!(verified.form(), Form::Signature);
    assert_eq!(count(SignatureForm::Signature), 2);

    // Nothing usable served: a refusal that says so, not an IMDS error.
    mock.remove_metadata(SignatureForm::Signature.path());
    mock.remove_metadata(SignatureForm::Pkcs7.path());
    let error = refused(&client, &both).await;
    assert!(matches!(error, VerifyError::NoSignature { .. }), "{error}");
}

#[tokio::test]
async fn a_form_that_cannot_be_read_fails_the_call_only_when_it_was_needed() {
    use imds::error::ResponseError;

    let mock = MockImds::start_default().await.unwrap();
    // A body over the client's size limit: a read error for that form
    // alone (the document and the other forms are far smaller).
    let limit = 16 * 1024;
    let client = support::builder_for(&mock)
        .max_response_size(limit)
        .build()
        .unwrap();
    let unreadable = "A".repeat(limit + 1);
    let count = |form: SignatureForm| mock.stats().path_count(&format!("/latest/{}", form.path()));

    // No certificate for rsa2048, so the other two are read; the pkcs7
    // that cannot be read is not needed: the signature verifies.
    mock.set_metadata(SignatureForm::Pkcs7.path(), unreadable.clone());
    let verified = client
        .verify_identity(&trusting(Form::Signature, defaults::REGION))
        .await
        .unwrap();
    assert_eq!(verified.form(), Form::Signature);
    assert_eq!(count(SignatureForm::Pkcs7), 1, "read, and failed");

    // rsa2048 cannot be read: as if IMDS did not serve it.
    mock.set_metadata(SignatureForm::Rsa2048.path(), unreadable.clone());
    let both = trusting(Form::Rsa2048, defaults::REGION)
        .with_certificate(
            defaults::REGION,
            Form::Signature,
            IdentitySigner::test().certificate_pem(SignatureForm::Signature),
        )
        .unwrap();
    let verified = client.verify_identity(&both).await.unwrap();
    assert_eq!(verified.form(), Form::Signature);

    // No form left to verify with: the read error, not a refusal.
    mock.set_metadata(SignatureForm::Signature.path(), unreadable);
    let error = client.verify_identity(&both).await.unwrap_err();
    assert!(
        matches!(
            &error,
            IdentityError::Imds(imds::Error::BadResponse {
                reason: ResponseError::TooLarge { .. },
                ..
            })
        ),
        "{error}"
    );
}
