//! Refusals, on real AWS-signed samples (`../shared/iid-samples`) changed
//! in one way each: every one is refused by the check it breaks, and the
//! error names that check and carries none of the signature material.

#![cfg(feature = "verify")]

mod support;

use std::time::{Duration, SystemTime};

use der::{DecodePem, Encode};
use imds_identity::{Form, Material, PolicyError, Verifier, VerifyError};
use support::{Sample, assert_no_blob, base64, samples_dir};

/// Sample A: ap-southeast-2, account 189292791360, i-0c5541936caf78c12,
/// pendingTime 2026-02-16T00:38:27Z, rsa2048 and signature.
const A: &str = "ap-southeast-2_2026-02-16_metaphor-cloud";
/// Sample B: us-west-2, all three forms.
const B: &str = "us-west-2_2018-05-09_taskcluster-iid-verify";
/// Sample G: us-west-2, pkcs7 only.
const G: &str = "us-west-2_2021-06-11_teleport-rfd0041";

fn epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH
}

/// `verifier` refuses `material`; the error has no blob and its message
/// contains `says`.
fn refused(verifier: &Verifier, material: &Material, says: &str) -> VerifyError {
    let error = verifier
        .verify_at(material, epoch())
        .expect_err("must be refused");
    let message = error.to_string();
    assert!(message.contains(says), "{message:?} should say {says:?}");
    for form in Form::PREFERENCE {
        if let Some(raw) = material.get(form) {
            assert_no_blob(&message, raw);
        }
    }
    assert_no_blob(&format!("{error:?}"), b"");
    error
}

fn pinned(region: &str, form: Form, certificate: &[u8]) -> Verifier {
    Verifier::empty()
        .with_certificate(region, form, certificate)
        .unwrap()
}

/// `bytes` with the first occurrence of `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[test]
fn another_regions_certificate_is_refused() {
    let Some(samples) = samples_dir() else { return };
    // verify_all.sh's negative controls: rsa2048 against another region's
    // certificate (the signer's issuer and serial are not its).
    for (name, region, wrong) in [
        (
            "us-west-2_2021-09-03_teleport-join-ec2-test-instance1",
            "us-west-2",
            "rsa2048_us-west-1.pem",
        ),
        (A, "ap-southeast-2", "rsa2048_us-east-1.pem"),
    ] {
        let sample = Sample::new(&samples, name);
        let verifier = pinned(region, Form::Rsa2048, &support::cert(&samples, wrong));
        let error = refused(&verifier, &sample.material(Form::Rsa2048), "signer is not");
        assert_eq!(
            error,
            VerifyError::SignerNotTrusted {
                form: Form::Rsa2048,
                region: region.to_owned()
            }
        );
    }
    // signature: af-south-1 has a key of its own.
    let af_south_1 = imds_identity::embedded_certificates()
        .iter()
        .find(|c| c.region == "af-south-1" && c.form == Form::Signature)
        .unwrap();
    let sample = Sample::new(&samples, A);
    let verifier = pinned("ap-southeast-2", Form::Signature, af_south_1.pem.as_bytes());
    let error = refused(
        &verifier,
        &sample.material(Form::Signature),
        "does not verify",
    );
    assert!(matches!(
        error,
        VerifyError::BadSignature {
            form: Form::Signature,
            ..
        }
    ));
}

#[test]
fn a_document_changed_by_one_byte_is_refused() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, B);
    // verify_all.sh's tampering: "region" -> "regioN".
    let tampered = replace(&sample.document(), b"\"region\"", b"\"regioN\"");
    let material = |form| Material::new(tampered.clone()).with(form, sample.raw(form).unwrap());
    // The JSON no longer has a region: refused before any signature check.
    refused(&Verifier::new(), &material(Form::Signature), "malformed");

    // One byte of a value instead, the JSON still valid.
    let changed = replace(&sample.document(), b"t2.nano", b"t2.nanO");
    let verifier = Verifier::new();
    #[cfg(feature = "legacy-pkcs7")]
    let verifier = verifier.allow_legacy_pkcs7(true);
    for form in [Form::Rsa2048, Form::Signature, Form::Pkcs7] {
        let material = Material::new(changed.clone()).with(form, sample.raw(form).unwrap());
        if form == Form::Pkcs7 && !cfg!(feature = "legacy-pkcs7") {
            continue;
        }
        let error = verifier.verify_at(&material, epoch()).unwrap_err();
        let expected = match form {
            Form::Signature => VerifyError::BadSignature {
                form,
                region: "us-west-2".into(),
            },
            _ => VerifyError::ContentMismatch { form },
        };
        assert_eq!(error, expected);
        assert_no_blob(&error.to_string(), material.get(form).unwrap());
    }
}

#[test]
fn content_changed_inside_the_pkcs7_fails_the_message_digest() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, A);
    let document = sample.document();
    let changed = replace(&document, b"t4g.small", b"t4g.large");
    // The same change inside the blob: content and document agree, but
    // the signed message digest is the original's.
    let blob = replace(&sample.decoded(Form::Rsa2048).unwrap(), &document, &changed);
    let material = Material::new(changed).with_rsa2048(base64(&blob));
    let error = refused(&Verifier::new(), &material, "message digest");
    assert_eq!(
        error,
        VerifyError::DigestMismatch {
            form: Form::Rsa2048
        }
    );
}

#[test]
fn truncated_or_garbage_pkcs7_is_refused() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, A);
    let blob = sample.decoded(Form::Rsa2048).unwrap();
    let verifier = Verifier::new();
    let mut bad: Vec<Vec<u8>> = [1, 2, 10, 100, blob.len() / 2, blob.len() - 300]
        .into_iter()
        .map(|cut| base64(&blob[..blob.len() - cut]).into_bytes())
        .collect();
    // base64 itself cut mid-quantum
    let raw = sample.raw(Form::Rsa2048).unwrap();
    bad.push(raw[..raw.len() - 3].to_vec());
    // garbage: not base64; base64 of noise; DER that is not CMS (a
    // certificate); a CMS of another type
    bad.push(b"this is not a PKCS#7 !".to_vec());
    let noise: Vec<u8> = (0u32..700)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bad.push(base64(&noise).into_bytes());
    let certificate =
        x509_cert::Certificate::from_pem(support::cert(&samples, "rsa2048_us-east-1.pem"))
            .unwrap()
            .to_der()
            .unwrap();
    bad.push(base64(&certificate).into_bytes());
    bad.push(base64(&replace(&blob, &[0x01, 0x07, 0x02], &[0x01, 0x07, 0x03])).into_bytes());
    bad.push(Vec::new());
    for text in bad {
        let material = Material::new(sample.document()).with_rsa2048(text);
        let error = verifier.verify_at(&material, epoch()).unwrap_err();
        assert!(
            matches!(
                error,
                VerifyError::MalformedSignature {
                    form: Form::Rsa2048,
                    ..
                } | VerifyError::UnsupportedAlgorithm {
                    form: Form::Rsa2048,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.starts_with("the rsa2048 "), "{message}");
        assert_no_blob(&message, material.get(Form::Rsa2048).unwrap());
    }
}

#[test]
fn a_signature_from_another_key_is_refused() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, A);

    // The CMS's signature value, one bit flipped.
    let blob = sample.decoded(Form::Rsa2048).unwrap();
    let header = [0x04, 0x82, 0x01, 0x00];
    let at = blob.windows(4).rposition(|w| w == header).unwrap() + 4 + 100;
    let mut forged = blob.clone();
    forged[at] ^= 0x01;
    let material = Material::new(sample.document()).with_rsa2048(base64(&forged));
    let error = refused(&Verifier::new(), &material, "does not verify");
    assert!(matches!(
        error,
        VerifyError::BadSignature {
            form: Form::Rsa2048,
            ..
        }
    ));

    // A certificate with the signer's issuer and serial but another key
    // (us-east-1's put into ap-southeast-2's): the signer matches, the
    // signature does not.
    let region_cert =
        |file| x509_cert::Certificate::from_pem(support::cert(&samples, file)).unwrap();
    let own = region_cert("rsa2048_ap-southeast-2.pem");
    let other = region_cert("rsa2048_us-east-1.pem");
    let own_key = own
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let other_key = other
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    assert_eq!(own_key.len(), other_key.len());
    let impostor = replace(&own.to_der().unwrap(), &own_key, &other_key);
    let verifier = pinned("ap-southeast-2", Form::Rsa2048, &impostor);
    let error = refused(
        &verifier,
        &sample.material(Form::Rsa2048),
        "does not verify",
    );
    assert!(matches!(
        error,
        VerifyError::BadSignature {
            form: Form::Rsa2048,
            ..
        }
    ));

    // signature: one bit flipped, and one of the wrong length.
    let signature = sample.decoded(Form::Signature).unwrap();
    let mut flipped = signature.clone();
    flipped[17] ^= 0x80;
    for bad in [flipped, signature[..64].to_vec()] {
        let material = Material::new(sample.document()).with_signature(base64(&bad));
        let error = refused(&Verifier::new(), &material, "does not verify");
        assert!(matches!(
            error,
            VerifyError::BadSignature {
                form: Form::Signature,
                ..
            }
        ));
    }
}

#[test]
fn policy_checks_refuse_what_they_should_and_pass_the_rest() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, A);
    let material = sample.material(Form::Rsa2048);
    let pending = humantime::parse_rfc3339("2026-02-16T00:38:27Z").unwrap();
    let ten_minutes_later = pending + Duration::from_secs(600);

    let old = Verifier::new().max_age(Duration::from_secs(300));
    let error = old.verify_at(&material, ten_minutes_later).unwrap_err();
    assert_eq!(
        error,
        VerifyError::Policy(PolicyError::TooOld {
            pending_time: "2026-02-16T00:38:27Z".into(),
            age: Duration::from_secs(600),
            max_age: Duration::from_secs(300),
        })
    );
    assert!(error.to_string().starts_with("max age: "), "{error}");
    let fresh = Verifier::new().max_age(Duration::from_secs(900));
    fresh.verify_at(&material, ten_minutes_later).unwrap();
    // Launched after `now` (clock skew): age zero.
    fresh
        .verify_at(&material, pending - Duration::from_secs(60))
        .unwrap();

    let cases: [(Verifier, &str); 3] = [
        (
            Verifier::new().allowed_accounts(["111122223333", "444455556666"]),
            "allowed accounts: account 189292791360",
        ),
        (
            Verifier::new().region("ap-southeast-4"),
            "region: the document is from ap-southeast-2, ap-southeast-4",
        ),
        (
            Verifier::new().instance_id("i-0123456789abcdef0"),
            "instance ID: the document is i-0c5541936caf78c12's",
        ),
    ];
    for (verifier, says) in cases {
        let error = refused(&verifier, &material, says);
        assert!(matches!(error, VerifyError::Policy(_)), "{error:?}");
    }

    let everything = Verifier::new()
        .max_age(Duration::from_secs(900))
        .allowed_accounts(["111122223333", "189292791360"])
        .region("ap-southeast-2")
        .instance_id("i-0c5541936caf78c12");
    let verified = everything.verify_at(&material, ten_minutes_later).unwrap();
    assert_eq!(verified.document().account_id, "189292791360");
}

#[test]
fn the_policy_is_checked_only_after_the_signature() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, A);
    let forged = replace(&sample.document(), b"189292791360", b"111122223333");
    let material = Material::new(forged).with_rsa2048(sample.raw(Form::Rsa2048).unwrap());
    let verifier = Verifier::new().allowed_accounts(["111122223333"]);
    let error = refused(&verifier, &material, "not the document given");
    assert_eq!(
        error,
        VerifyError::ContentMismatch {
            form: Form::Rsa2048
        }
    );
}

#[test]
fn dsa_pkcs7_is_refused_unless_asked() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, G);
    let material = sample.material(Form::Pkcs7);
    let error = refused(&Verifier::new(), &material, "legacy-pkcs7");
    assert_eq!(
        error,
        VerifyError::NoSignature {
            pkcs7_ignored: true
        }
    );
    #[cfg(feature = "legacy-pkcs7")]
    {
        let verified = Verifier::new()
            .allow_legacy_pkcs7(true)
            .verify_at(&material, epoch())
            .unwrap();
        assert_eq!(verified.form(), Form::Pkcs7);
        // allowed, then disallowed again
        let verifier = Verifier::new()
            .allow_legacy_pkcs7(true)
            .allow_legacy_pkcs7(false);
        refused(&verifier, &material, "legacy-pkcs7");
    }
}

#[test]
fn a_region_without_a_certificate_says_how_to_add_one() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, A);
    let error = refused(
        &Verifier::empty(),
        &sample.all_material(),
        "Verifier::with_certificate(\"ap-southeast-2\", Form::Rsa2048, PEM)",
    );
    assert_eq!(
        error,
        VerifyError::NoCertificate {
            region: "ap-southeast-2".into(),
            forms: vec![Form::Rsa2048, Form::Signature],
        }
    );
    let message = error.to_string();
    assert!(
        message.contains("RSA-2048 certificate of ap-southeast-2"),
        "{message}"
    );
    assert!(message.contains("regions-certs.html"), "{message}");

    // With only the signature's certificate, the signature is checked.
    let verifier = pinned(
        "ap-southeast-2",
        Form::Signature,
        &support::cert(&samples, "rsa_2024-2029_ap-southeast-2.pem"),
    );
    let verified = verifier.verify_at(&sample.all_material(), epoch()).unwrap();
    assert_eq!(verified.form(), Form::Signature);
}

#[test]
fn a_certificate_of_the_wrong_kind_is_refused() {
    let Some(samples) = samples_dir() else { return };
    let dsa = support::cert(&samples, "dsa_standard-regions_2012-2038.pem");
    for form in [Form::Rsa2048, Form::Signature] {
        let error = Verifier::new()
            .with_certificate("us-east-1", form, &dsa)
            .unwrap_err();
        assert!(
            error.to_string().contains("must hold an RSA key"),
            "{error}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Real AWS PKCS#7s with bytes changed anywhere: never a panic, and a
    /// refusal quotes none of the material. An accepted one can only have
    /// changed what the signature does not cover (the versions, the
    /// unsigned digestAlgorithms set): the document is still the signed one.
    #[test]
    fn mutated_real_pkcs7_is_handled(
        sample in proptest::sample::select(vec![A, B, "us-west-1_2021-09-11_teleport-join-ec2-test-instance2"]),
        flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 1..4),
    ) {
        let Some(samples) = samples_dir() else { return Ok(()) };
        let sample = Sample::new(&samples, sample);
        let mut blob = sample.decoded(Form::Rsa2048).unwrap();
        for (at, value) in flips {
            let index = at.index(blob.len());
            blob[index] = value;
        }
        let document = sample.document();
        let material = Material::new(document.clone()).with_rsa2048(base64(&blob));
        match Verifier::new().verify_at(&material, epoch()) {
            Ok(verified) => proptest::prop_assert_eq!(verified.bytes().as_ref(), document.as_slice()),
            Err(error) => assert_no_blob(&error.to_string(), material.get(Form::Rsa2048).unwrap()),
        }
    }
}
