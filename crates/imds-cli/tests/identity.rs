//! `imds identity` and `imds verify-identity`, run as the built binary:
//! against the signing mock (every form verifies with the mock's
//! certificates; the wrong certificate, a document changed by one byte, a
//! truncated or garbage PKCS#7, another key, --max-age and --account are
//! refused with exit status 5), and against real AWS-signed documents
//! (`../shared/iid-samples`) with the embedded certificates.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use imds_mock::{IdentitySigner, MockImds, SignatureForm, defaults};
use support::{REFUSED, Run, Sandbox};

const NOT_VERIFIED: i32 = 5;
const USAGE: i32 = 2;

/// The files a test writes: the mock's certificates and captured material.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        IdentitySigner::test()
            .write_certificates(&dir.path().join("certs"))
            .unwrap();
        Files { dir }
    }

    fn cert(&self, form: SignatureForm) -> String {
        let path = self.dir.path().join("certs").join(format!("{form}.pem"));
        path.to_str().unwrap().to_owned()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

/// The document the mock serves now, as the client reads it.
async fn served_document(mock: &MockImds) -> Vec<u8> {
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(mock.base_url())
        .build()
        .unwrap();
    client.identity_document_bytes().await.unwrap().to_vec()
}

/// `imds verify-identity ARGS`, with an IMDS endpoint that refuses
/// connections in the environment: the command never reads IMDS.
async fn verify_identity(sandbox: &Sandbox, args: &[&str]) -> Run {
    let mut argv = vec!["verify-identity"];
    argv.extend_from_slice(args);
    sandbox.run_raw(REFUSED, &argv, &[]).await
}

/// `imds verify-identity --document DOCUMENT --rsa2048 MATERIAL --cert
/// CERT EXTRA...`.
async fn verify_rsa2048(
    sandbox: &Sandbox,
    document: &str,
    material: &str,
    cert: &str,
    extra: &[&str],
) -> Run {
    let mut args = vec![
        "--document",
        document,
        "--rsa2048",
        material,
        "--cert",
        cert,
    ];
    args.extend_from_slice(extra);
    verify_identity(sandbox, &args).await
}

/// A refusal: exit status 5, the reason on stderr, no material quoted.
fn refused(run: Run, reason: &str) -> Run {
    let run = run.fails(NOT_VERIFIED);
    assert!(
        run.stderr
            .starts_with("imds: the instance identity was not verified: "),
        "{run:?}"
    );
    assert!(run.stderr.contains(reason), "{reason:?} in {run:?}");
    let mut longest = 0;
    let mut current = 0;
    for c in run.stderr.chars() {
        current = if c.is_ascii_alphanumeric() || c == '+' || c == '=' {
            current + 1
        } else {
            0
        };
        longest = longest.max(current);
    }
    assert!(longest < 24, "base64 on stderr: {run:?}");
    run
}

// ---- imds identity -------------------------------------------------------

#[tokio::test]
async fn identity_prints_the_document_and_each_signature_as_served() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    let document = served_document(&mock).await;
    let run = sandbox.run(&mock.base_url(), &["identity"]).await.ok();
    // Byte for byte: no newline added when stdout is not a terminal.
    assert_eq!(run.stdout, document);
    for form in SignatureForm::ALL {
        let run = sandbox
            .run(&mock.base_url(), &["identity", "--material", form.as_str()])
            .await
            .ok();
        let expected = IdentitySigner::test().sign(form, &document).unwrap();
        assert_eq!(run.stdout_text(), expected, "{form}");
    }
    // A form IMDS does not serve: not found.
    mock.remove_metadata(SignatureForm::Pkcs7.path());
    sandbox
        .run(&mock.base_url(), &["identity", "--material", "pkcs7"])
        .await
        .fails(3);
}

#[tokio::test]
async fn identity_verify_accepts_every_form_with_the_mocks_certificates() {
    let mock = MockImds::start_default().await.unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let document = served_document(&mock).await;
    let base = mock.base_url();
    // rsa2048, which IMDS always serves, is checked first; a --cert without
    // a form is for rsa2048.
    let run = sandbox
        .run(
            &base,
            &[
                "identity",
                "--verify",
                "--cert",
                &files.cert(SignatureForm::Rsa2048),
            ],
        )
        .await
        .ok();
    assert_eq!(run.stdout, document);
    // Without rsa2048, the signature.
    mock.remove_metadata(SignatureForm::Rsa2048.path());
    let signature = format!("signature={}", files.cert(SignatureForm::Signature));
    let run = sandbox
        .run(&base, &["identity", "--verify", "--cert", &signature])
        .await
        .ok();
    assert_eq!(run.stdout, document);
    // With neither, the legacy pkcs7, when allowed.
    mock.remove_metadata(SignatureForm::Signature.path());
    let pkcs7 = format!("pkcs7={}", files.cert(SignatureForm::Pkcs7));
    let run = sandbox
        .run(
            &base,
            &["identity", "--verify", "--allow-pkcs7", "--cert", &pkcs7],
        )
        .await
        .ok();
    assert_eq!(run.stdout, document);
    let run = sandbox
        .run(&base, &["identity", "--verify", "--cert", &pkcs7])
        .await;
    refused(run, "checked only with --allow-pkcs7");
}

#[tokio::test]
async fn identity_verify_refuses_what_does_not_check_out() {
    let mock = MockImds::start_default().await.unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let base = mock.base_url();
    let rsa2048 = files.cert(SignatureForm::Rsa2048);
    let verify = |extra: &'static [&'static str]| {
        let mut args = vec!["identity", "--verify", "--cert", rsa2048.as_str()];
        args.extend_from_slice(extra);
        args
    };

    // AWS's own us-east-1 certificate (embedded) is not the mock's signer.
    let run = sandbox.run(&base, &["identity", "--verify"]).await;
    refused(
        run,
        "signer check (rsa2048): the PKCS#7's signer is not us-east-1's certificate",
    );
    // The policy: another account, another region, another instance.
    refused(
        sandbox
            .run(&base, &verify(&["--account", "999999999999"]))
            .await,
        "allowed accounts: account 123456789012 is not allowed",
    );
    sandbox
        .run(
            &base,
            &verify(&[
                "--account",
                "999999999999",
                "--account",
                defaults::ACCOUNT_ID,
            ]),
        )
        .await
        .ok();
    refused(
        sandbox
            .run(&base, &verify(&["--region", "eu-west-1"]))
            .await,
        "region: the document is from us-east-1",
    );
    refused(
        sandbox
            .run(&base, &verify(&["--instance-id", "i-0aaaaaaaaaaaaaaaa"]))
            .await,
        "instance ID",
    );
    // Signed by another key with the same certificate names.
    mock.set_identity_signer(IdentitySigner::impostor());
    refused(
        sandbox.run(&base, &verify(&[])).await,
        "signature check (rsa2048): the signature does not verify",
    );
    // A region the embedded table lacks: the message names --cert.
    mock.set_identity_signer(IdentitySigner::test());
    mock.set_metadata("meta-data/placement/region", "ap-east-2");
    refused(
        sandbox.run(&base, &["identity", "--verify"]).await,
        "pass AWS's RSA-2048 certificate of ap-east-2",
    );
}

#[tokio::test]
async fn identity_verify_max_age_counts_from_pending_time() {
    // The binary reads the real clock.
    let launched = imds::clock::now() - Duration::from_secs(10 * 60);
    let mock = MockImds::builder()
        .pending_time(humantime::format_rfc3339_seconds(launched).to_string())
        .build()
        .start()
        .await
        .unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let rsa2048 = files.cert(SignatureForm::Rsa2048);
    let run = |max_age: &'static str| {
        let args = [
            "identity",
            "--verify",
            "--cert",
            rsa2048.as_str(),
            "--max-age",
            max_age,
        ];
        let (sandbox, base) = (&sandbox, mock.base_url());
        async move { sandbox.run(&base, &args).await }
    };
    refused(run("5m").await, "max age: the instance's pendingTime");
    run("1h").await.ok();
}

#[tokio::test]
async fn identity_checks_need_verify_and_certificates_must_be_certificates() {
    let mock = MockImds::start_default().await.unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let base = mock.base_url();
    let run = sandbox.run(&base, &["identity", "--max-age", "5m"]).await;
    assert!(run.fails(USAGE).stderr.contains("need --verify"));
    let not_a_cert = files.write("not-a-cert.pem", "hello");
    let run = sandbox
        .run(&base, &["identity", "--verify", "--cert", &not_a_cert])
        .await
        .fails(USAGE);
    assert!(run.stderr.contains("not an X.509 certificate"), "{run:?}");
    let missing = files.dir.path().join("missing.pem");
    sandbox
        .run(
            &base,
            &["identity", "--verify", "--cert", missing.to_str().unwrap()],
        )
        .await
        .fails(1);
    let run = sandbox
        .run(&base, &["identity", "--verify", "--material", "rsa2048"])
        .await;
    assert_eq!(run.code, USAGE, "{run:?}");
    // With --mock, the mock's certificates are trusted.
    let run = sandbox.run_mock(&["identity", "--verify"]).await.ok();
    assert!(run.stdout_text().contains(defaults::INSTANCE_ID));
}

// ---- imds verify-identity ------------------------------------------------

/// The mock's document and signatures, saved as files.
async fn captured(mock: &MockImds, files: &Files) -> (Vec<u8>, [String; 4]) {
    let document = served_document(mock).await;
    let sign = |form| IdentitySigner::test().sign(form, &document).unwrap();
    let paths = [
        files.write("document", &document),
        files.write("rsa2048", sign(SignatureForm::Rsa2048)),
        files.write("signature", sign(SignatureForm::Signature)),
        files.write("pkcs7", sign(SignatureForm::Pkcs7)),
    ];
    (document, paths)
}

#[tokio::test]
async fn verify_identity_accepts_each_form_captured_from_the_mock() {
    let mock = MockImds::start_default().await.unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let (document, [doc, rsa2048, signature, pkcs7]) = captured(&mock, &files).await;
    for (flag, material, form, extra) in [
        ("--rsa2048", &rsa2048, SignatureForm::Rsa2048, None),
        ("--signature", &signature, SignatureForm::Signature, None),
        (
            "--pkcs7",
            &pkcs7,
            SignatureForm::Pkcs7,
            Some("--allow-pkcs7"),
        ),
    ] {
        // A --cert without a form is for the form given.
        let cert = files.cert(form);
        let mut args = vec!["--document", &doc, flag, material, "--cert", &cert];
        args.extend(extra);
        let run = verify_identity(&sandbox, &args).await.ok();
        assert_eq!(run.stdout, document, "{form}");
    }
}

#[tokio::test]
async fn verify_identity_refuses_changed_truncated_and_foreign_material() {
    let mock = MockImds::start_default().await.unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let (document, [doc, rsa2048, signature, pkcs7]) = captured(&mock, &files).await;
    let cert = |form| format!("{form}={}", files.cert(form));
    let (rsa_cert, sig_cert, dsa_cert) = (
        cert(SignatureForm::Rsa2048),
        cert(SignatureForm::Signature),
        cert(SignatureForm::Pkcs7),
    );

    // AWS's embedded us-east-1 certificates, not the mock's.
    refused(
        verify_identity(&sandbox, &["--document", &doc, "--rsa2048", &rsa2048]).await,
        "signer check (rsa2048)",
    );
    refused(
        verify_identity(&sandbox, &["--document", &doc, "--signature", &signature]).await,
        "signature check (signature)",
    );

    // One byte of the document changed.
    let mut changed = document.clone();
    let at = changed.windows(8).position(|w| w == b"t3.micro").unwrap();
    changed[at + 3] = b'n';
    let changed = files.write("changed", &changed);
    refused(
        verify_rsa2048(&sandbox, &changed, &rsa2048, &rsa_cert, &[]).await,
        "the document signed in the rsa2048 PKCS#7 is not the document given",
    );
    refused(
        verify_identity(
            &sandbox,
            &[
                "--document",
                &changed,
                "--signature",
                &signature,
                "--cert",
                &sig_cert,
            ],
        )
        .await,
        "signature check (signature)",
    );
    // A newline added by an editor: the hint.
    let mut with_newline = document.clone();
    with_newline.push(b'\n');
    let with_newline = files.write("with-newline", with_newline);
    refused(
        verify_rsa2048(&sandbox, &with_newline, &rsa2048, &rsa_cert, &[]).await,
        "ends with a newline",
    );

    // Truncated and garbage PKCS#7s.
    for (flag, material, cert, extra) in [
        ("--rsa2048", &rsa2048, &rsa_cert, None),
        ("--pkcs7", &pkcs7, &dsa_cert, Some("--allow-pkcs7")),
    ] {
        let text = std::fs::read_to_string(material).unwrap().replace('\n', "");
        let truncated = files.write("truncated", &text[..text.len() / 2 / 4 * 4]);
        let garbage = files.write("garbage", "bm90IGEgUEtDUyM3IGF0IGFsbA==");
        for bad in [&truncated, &garbage] {
            let mut args = vec!["--document", &doc, flag, bad, "--cert", cert];
            args.extend(extra);
            refused(
                verify_identity(&sandbox, &args).await,
                "material is malformed",
            );
        }
    }

    // Signed by another key.
    let impostor = files.write(
        "impostor",
        IdentitySigner::impostor()
            .sign(SignatureForm::Rsa2048, &document)
            .unwrap(),
    );
    refused(
        verify_rsa2048(&sandbox, &doc, &impostor, &rsa_cert, &[]).await,
        "signature check (rsa2048): the signature does not verify with us-east-1's certificate",
    );

    // The policy.
    refused(
        verify_rsa2048(
            &sandbox,
            &doc,
            &rsa2048,
            &rsa_cert,
            &["--account", "999999999999"],
        )
        .await,
        "allowed accounts",
    );
    refused(
        verify_rsa2048(&sandbox, &doc, &rsa2048, &rsa_cert, &["--max-age", "5m"]).await,
        "max age",
    );

    // Files that cannot be read, and no signature at all.
    let missing = files.dir.path().join("missing");
    let run = verify_identity(
        &sandbox,
        &[
            "--document",
            missing.to_str().unwrap(),
            "--rsa2048",
            &rsa2048,
        ],
    )
    .await
    .fails(1);
    assert!(run.stderr.contains("cannot read --document"), "{run:?}");
    let run = verify_identity(&sandbox, &["--document", &doc]).await;
    assert_eq!(run.code, USAGE, "{run:?}");
}

// ---- real AWS-signed documents --------------------------------------------

/// `../shared/iid-samples` (or `IID_SAMPLES_DIR`), or `None` after
/// reporting the skip; with `CI` set, a missing folder fails the test.
fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IID_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/iid-samples")
        });
    if dir.join("README.txt").is_file() {
        return Some(dir);
    }
    support::skip(&format!(
        "../shared/iid-samples not found at {}",
        dir.display()
    ));
    None
}

#[tokio::test]
async fn every_real_sample_verifies_with_the_embedded_certificates() {
    let Some(samples) = samples_dir() else { return };
    let sandbox = Sandbox::new();
    let mut verified = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(samples.join("samples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 16, "the samples README.txt lists");
    for dir in dirs {
        let document = dir.join("document");
        for form in SignatureForm::ALL {
            let material = dir.join(form.as_str());
            if !material.is_file() {
                continue;
            }
            let flag = format!("--{form}");
            let mut args = vec![
                "--document",
                document.to_str().unwrap(),
                &flag,
                material.to_str().unwrap(),
            ];
            if form == SignatureForm::Pkcs7 {
                args.push("--allow-pkcs7");
            }
            let run = verify_identity(&sandbox, &args).await;
            assert_eq!(run.code, 0, "{} {form}: {run:?}", dir.display());
            assert_eq!(run.stdout, std::fs::read(&document).unwrap());
            verified += 1;
        }
    }
    // 7 rsa2048, 6 signature and 10 pkcs7, as README.txt counts them.
    assert_eq!(verified, 23);
}

#[tokio::test]
async fn a_real_sample_is_refused_with_another_regions_certificate_or_one_byte_changed() {
    let Some(samples) = samples_dir() else { return };
    let sandbox = Sandbox::new();
    let files = Files::new();
    let dir = samples.join("samples/us-west-2_2018-05-09_taskcluster-iid-verify");
    let document = dir.join("document");
    let rsa2048 = dir.join("rsa2048");
    let cert = |region: &str| {
        let path = samples.join(format!("certs/rsa2048_{region}.pem"));
        format!("rsa2048={}", path.to_str().unwrap())
    };
    let (document, rsa2048) = (document.to_str().unwrap(), rsa2048.to_str().unwrap());
    let pinned = |region: &str| {
        let args = [
            "--document",
            document,
            "--rsa2048",
            rsa2048,
            "--no-embedded-certs",
            "--cert",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.push(cert(region));
        args
    };
    // Pinned to us-west-2's certificate: verified; to us-east-1's: refused.
    let args = pinned("us-west-2");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    verify_identity(&sandbox, &args).await.ok();
    let args = pinned("us-east-1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(
        verify_identity(&sandbox, &args).await,
        "signer check (rsa2048): the PKCS#7's signer is not us-west-2's certificate",
    );
    // One byte changed.
    let mut changed = std::fs::read(document).unwrap();
    let at = changed.windows(7).position(|w| w == b"t2.nano").unwrap();
    changed[at + 3] = b'm'; // t2.mano
    let changed = files.write("changed", changed);
    refused(
        verify_identity(&sandbox, &["--document", &changed, "--rsa2048", rsa2048]).await,
        "is not the document given",
    );
}

#[tokio::test]
async fn with_vv_no_signature_reaches_stderr() {
    let mock = MockImds::start_default().await.unwrap();
    let (sandbox, files) = (Sandbox::new(), Files::new());
    let (document, [doc, rsa2048, signature, _]) = captured(&mock, &files).await;
    // The signature values: the end of each text.
    let secrets: Vec<String> = SignatureForm::ALL
        .into_iter()
        .map(|form| {
            let text = IdentitySigner::test().sign(form, &document).unwrap();
            let compact = text.replace('\n', "");
            compact[compact.len() - 40..].to_owned()
        })
        .collect();
    let base = mock.base_url();
    let cert = files.cert(SignatureForm::Rsa2048);
    let runs = [
        sandbox
            .run(&base, &["-vv", "identity", "--material", "rsa2048"])
            .await,
        sandbox
            .run(&base, &["-vv", "identity", "--verify", "--cert", &cert])
            .await,
        sandbox.run(&base, &["-vv", "identity", "--verify"]).await,
        verify_identity(
            &sandbox,
            &[
                "-vv",
                "--document",
                &doc,
                "--rsa2048",
                &rsa2048,
                "--signature",
                &signature,
            ],
        )
        .await,
    ];
    for run in runs {
        assert!(!run.stderr.is_empty(), "-vv logs: {run:?}");
        for secret in &secrets {
            assert!(!run.stderr.contains(secret.as_str()), "{run:?}");
        }
    }
}
