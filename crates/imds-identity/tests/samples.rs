//! Real AWS-signed identity documents (`../shared/iid-samples`, see its
//! README.txt for each sample's public source) verify with our verifier:
//! every positive check of the folder's `verify_all.sh` (AWS's openssl
//! recipes), with the certificate file that check uses, and again with the
//! embedded table alone.

#![cfg(feature = "verify")]

mod support;

use std::time::SystemTime;

use imds_identity::{CertificateSource, Form, Verifier};
use support::{ALL, Sample, samples_dir};

const LEGACY: &str = "rsa_legacy_ec2.amazonaws.com_2014-2024_EXPIRED.pem";
const DSA: &str = "dsa_standard-regions_2012-2038.pem";

/// verify_all.sh's 29 positive checks: (form, sample, certificate file).
fn positive_checks() -> Vec<(Form, &'static str, &'static str)> {
    use Form::{Pkcs7, Rsa2048, Signature};
    let mut checks = vec![
        (
            Signature,
            "ap-southeast-2_2026-02-16_metaphor-cloud",
            "rsa_2024-2029_ap-southeast-2.pem",
        ),
        (
            Signature,
            "ap-southeast-2_2026-02-16_metaphor-cloud",
            LEGACY,
        ),
        (
            Rsa2048,
            "ap-southeast-2_2026-02-16_metaphor-cloud",
            "rsa2048_ap-southeast-2.pem",
        ),
        (
            Signature,
            "ap-southeast-2_2025-02-05_metaphor-cloud",
            "rsa_2024-2029_ap-southeast-2.pem",
        ),
        (
            Signature,
            "ap-southeast-2_2025-02-05_metaphor-cloud",
            LEGACY,
        ),
        (
            Signature,
            "us-west-2_2018-05-09_taskcluster-iid-verify",
            LEGACY,
        ),
        (
            Signature,
            "us-west-2_2018-05-09_taskcluster-iid-verify",
            "rsa_2024-2029_us-west-2.pem",
        ),
        (
            Rsa2048,
            "us-west-2_2018-05-09_taskcluster-iid-verify",
            "rsa2048_us-west-2.pem",
        ),
        (Pkcs7, "us-west-2_2018-05-09_taskcluster-iid-verify", DSA),
    ];
    for sample in [
        "ap-northeast-2_2022-03-27_i-0140f65cf5b9ba76a_ansible-facts",
        "ap-northeast-2_2022-03-27_i-00e3338c5c02cfd02_ansible-facts",
    ] {
        checks.extend([
            (Signature, sample, LEGACY),
            (Signature, sample, "rsa_2024-2029_ap-northeast-2.pem"),
            (Rsa2048, sample, "rsa2048_ap-northeast-2.pem"),
            (Pkcs7, sample, DSA),
        ]);
    }
    checks.extend([
        (
            Signature,
            "us-west-2_2019-08-15_taskcluster-worker-manager",
            LEGACY,
        ),
        (
            Signature,
            "us-west-2_2019-08-15_taskcluster-worker-manager",
            "rsa_2024-2029_us-west-2.pem",
        ),
        (
            Rsa2048,
            "us-west-2_2021-09-03_teleport-join-ec2-test-instance1",
            "rsa2048_us-west-2.pem",
        ),
        (
            Rsa2048,
            "us-west-1_2021-09-11_teleport-join-ec2-test-instance2",
            "rsa2048_us-west-1.pem",
        ),
        (
            Rsa2048,
            "us-east-1_2017-12-29_unattributed-go-test",
            "rsa2048_us-east-1.pem",
        ),
    ]);
    for sample in [
        "us-west-2_2021-06-11_teleport-rfd0041",
        "us-east-1_2016-04-08_fullsailor-pkcs7",
        "us-east-1_2018-01-22_taskcluster-ec2-manager",
        "us-west-2_2016-09-09_grailbio-base",
        "us-west-2_2017-12-05_grailbio-base",
        "ap-southeast-2_2018-09-26_pkcs7_detached",
        "ap-southeast-2_2020-02-27_pkcs7_detached",
    ] {
        checks.push((Pkcs7, sample, DSA));
    }
    checks
}

/// The time of the checks; no policy uses it here.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH
}

/// A verifier that trusts only `certificate` for `region` and `form`.
fn pinned(region: &str, form: Form, certificate: &[u8]) -> Verifier {
    let verifier = Verifier::empty()
        .with_certificate(region, form, certificate)
        .unwrap_or_else(|e| panic!("{region} {form}: {e}"));
    #[cfg(feature = "legacy-pkcs7")]
    let verifier = verifier.allow_legacy_pkcs7(true);
    verifier
}

#[test]
fn every_positive_check_of_verify_all_passes_with_its_certificate() {
    let Some(samples) = samples_dir() else { return };
    let checks = positive_checks();
    assert_eq!(checks.len(), 29, "verify_all.sh has 29 positive checks");
    let mut passed = 0;
    for (form, name, certificate) in checks {
        let sample = Sample::new(&samples, name);
        let pem = support::cert(&samples, certificate);
        if form == Form::Pkcs7 && !cfg!(feature = "legacy-pkcs7") {
            // Without the feature a pkcs7 certificate is refused up front.
            let error = Verifier::empty()
                .with_certificate(sample.region(), form, &pem)
                .unwrap_err();
            assert!(error.to_string().contains("legacy-pkcs7"), "{error}");
            continue;
        }
        let verified = pinned(&sample.region(), form, &pem)
            .verify_at(&sample.material(form), now())
            .unwrap_or_else(|e| panic!("{form} {name} [{certificate}]: {e}"));
        assert_eq!(verified.form(), form);
        assert_eq!(verified.certificate(), CertificateSource::Added);
        assert_eq!(verified.bytes().as_ref(), sample.document().as_slice());
        assert_eq!(verified.document().region, sample.region());
        passed += 1;
    }
    let expected = if cfg!(feature = "legacy-pkcs7") {
        29
    } else {
        19
    };
    assert_eq!(passed, expected);
    eprintln!("{passed} of verify_all.sh's positive checks passed");
}

#[test]
fn every_sample_and_form_verifies_with_the_embedded_table() {
    let Some(samples) = samples_dir() else { return };
    let mut checked = 0;
    for name in ALL {
        let sample = Sample::new(&samples, name);
        for form in Form::PREFERENCE {
            if sample.raw(form).is_none() {
                continue;
            }
            let verifier = Verifier::new();
            #[cfg(feature = "legacy-pkcs7")]
            let verifier = verifier.allow_legacy_pkcs7(true);
            let result = verifier.verify_at(&sample.material(form), now());
            if form == Form::Pkcs7 && !cfg!(feature = "legacy-pkcs7") {
                let error = result.unwrap_err();
                assert!(error.to_string().contains("legacy-pkcs7"), "{error}");
                continue;
            }
            let verified = result.unwrap_or_else(|e| panic!("{name} {form}: {e}"));
            assert_eq!(verified.form(), form);
            let CertificateSource::Embedded(entry) = verified.certificate() else {
                panic!("{name} {form}: not verified by the embedded table");
            };
            assert_eq!((entry.region, entry.form), (sample.region().as_str(), form));
            assert!(entry.source.contains("regions-certs"));
            checked += 1;
        }
    }
    // 6 signature + 7 rsa2048 (+ 10 pkcs7), as README.txt counts them.
    let expected = if cfg!(feature = "legacy-pkcs7") {
        23
    } else {
        13
    };
    assert_eq!(checked, expected);
}

#[test]
fn the_preferred_form_is_checked_when_several_came() {
    let Some(samples) = samples_dir() else { return };
    let verifier = Verifier::new();
    #[cfg(feature = "legacy-pkcs7")]
    let verifier = verifier.allow_legacy_pkcs7(true);
    for (name, expected) in [
        ("us-west-2_2018-05-09_taskcluster-iid-verify", Form::Rsa2048),
        ("ap-southeast-2_2025-02-05_metaphor-cloud", Form::Signature),
    ] {
        let sample = Sample::new(&samples, name);
        let verified = verifier.verify_at(&sample.all_material(), now()).unwrap();
        assert_eq!(verified.form(), expected, "{name}");
    }
}

#[test]
fn the_typed_document_has_the_signed_fields() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, "ap-southeast-2_2026-02-16_metaphor-cloud");
    let verified = Verifier::new()
        .verify_at(&sample.material(Form::Rsa2048), now())
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&sample.document()).unwrap();
    let doc = verified.document();
    for (field, value) in [
        ("accountId", &doc.account_id),
        ("architecture", &doc.architecture),
        ("availabilityZone", &doc.availability_zone),
        ("imageId", &doc.image_id),
        ("instanceId", &doc.instance_id),
        ("instanceType", &doc.instance_type),
        ("pendingTime", &doc.pending_time),
        ("region", &doc.region),
        ("version", &doc.version),
    ] {
        assert_eq!(json[field].as_str(), Some(value.as_str()), "{field}");
    }
    assert_eq!(json["privateIp"].as_str(), doc.private_ip.as_deref());
    assert_eq!(doc.kernel_id, None);
    assert!(doc.pending_at().is_some());

    // Old documents (version 2010-08-31, no marketplaceProductCodes) and
    // one with billingProducts parse too.
    let old = Sample::new(&samples, "ap-southeast-2_2025-02-05_metaphor-cloud");
    let verified = Verifier::new()
        .verify_at(&old.material(Form::Signature), now())
        .unwrap();
    assert_eq!(
        verified.document().billing_products.as_deref(),
        Some(&["bp-6fa54006".to_owned()][..])
    );
}

#[test]
fn pem_armour_and_joined_lines_are_accepted() {
    let Some(samples) = samples_dir() else { return };
    let sample = Sample::new(&samples, "us-west-2_2018-05-09_taskcluster-iid-verify");
    let armoured = support::read(&sample.dir.join("rsa2048.pem"));
    let one_line: Vec<u8> = sample
        .raw(Form::Rsa2048)
        .unwrap()
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    for text in [armoured, one_line] {
        let material = imds_identity::Material::new(sample.document()).with_rsa2048(text);
        Verifier::new().verify_at(&material, now()).unwrap();
    }
}
