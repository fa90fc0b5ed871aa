//! The `imds-mock` binary: the URL line, serving, flags, exit codes.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{BIN, get_at, next_line, put_token_at as put_token};
use http::StatusCode;
use imds_mock::{TTL_HEADER, defaults};
use tokio::process::{Child, Command};

/// Starts the binary on a free port and reads the URL it prints.
async fn spawn(args: &[&str]) -> (Child, String) {
    let (child, mut lines) = common::spawn(
        Command::new(BIN)
            .args(["--port", "0"])
            .args(args)
            .stderr(Stdio::null()),
    );
    let url = next_line(&mut lines).await;
    (child, url)
}

/// Runs the binary to completion with `args` (for failures).
async fn run(args: &[&str]) -> std::process::Output {
    common::run(Command::new(BIN).args(args)).await
}

#[tokio::test]
async fn serves_on_the_printed_url_until_killed() {
    let (mut child, url) = spawn(&[]).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with('/'));
    let token = put_token(&url, "21600").await;
    assert_eq!(token.status, StatusCode::OK);
    let reply = get_at(&url, "/latest/meta-data/instance-id", Some(token.text())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), defaults::INSTANCE_ID);
    child.kill().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_exits_zero() {
    // The handler is installed before the URL is printed: signal at once.
    let (mut child, _url) = spawn(&[]).await;
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exit after Ctrl-C")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn flags_set_imdsv1_the_ttl_cap_latency_and_disabled() {
    let (mut child, url) = spawn(&["--imdsv1", "--max-ttl", "5", "--latency-ms", "1"]).await;
    let tokenless = get_at(&url, "/latest/meta-data/instance-id", None).await;
    assert_eq!(tokenless.status, StatusCode::OK);
    assert_eq!(put_token(&url, "21600").await.header(TTL_HEADER), Some("5"));
    child.kill().await.unwrap();

    let (mut child, url) = spawn(&["--disabled"]).await;
    assert_eq!(put_token(&url, "21600").await.status, StatusCode::FORBIDDEN);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_config_file_is_served() {
    let file = common::temp_file(
        r#"{"metadata": {"meta-data/instance-id": "i-from-file"}, "imdsv1_allowed": true}"#,
    );
    let (mut child, url) = spawn(&["--config", file.path().to_str().unwrap()]).await;
    let reply = get_at(&url, "/latest/meta-data/instance-id", None).await;
    assert_eq!(reply.text(), "i-from-file");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn bad_flags_exit_2() {
    for args in [
        &["--no-such-flag"][..],
        &["--port", "seventy"],
        &["--max-ttl", "0"],
        &["--max-ttl", "21601"],
        &["--bind", "not-an-ip"],
        &["--listen", "127.0.0.1"],
        &["--listen", "127.0.0.1:0", "--port", "0"],
        &["--listen", "127.0.0.1:0", "--bind", "127.0.0.1"],
        &["--hop-limit", "0"],
        &["--hop-limit", "65"],
    ] {
        let output = run(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn bad_or_missing_config_exits_2_with_one_line() {
    let file = common::temp_file(r#"{"imdsv1": true}"#);
    let bad = run(&["--port", "0", "--config", file.path().to_str().unwrap()]).await;
    let missing = run(&["--port", "0", "--config", "/nonexistent/imds-mock.json"]).await;
    for (output, needle) in [
        (bad, "unknown field `imdsv1`"),
        (missing, "cannot read config file"),
    ] {
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("imds-mock: ") && stderr.contains(needle),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn listen_serves_each_address_and_prints_a_url_line_for_each() {
    let (mut child, mut lines) = common::spawn(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"])
            .args(["--hop-limit", "2"])
            .stderr(Stdio::null()),
    );
    let urls = [next_line(&mut lines).await, next_line(&mut lines).await];
    assert_ne!(urls[0], urls[1]);
    for url in &urls {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        // The hop limit (2) is far more than loopback needs.
        assert_eq!(put_token(url, "60").await.status, StatusCode::OK, "{url}");
    }
    child.kill().await.unwrap();
}

#[cfg(feature = "signing")]
#[tokio::test]
async fn write_certs_writes_the_signing_certificates_before_the_url() {
    use imds_mock::{IdentitySigner, SignatureForm};
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    // The URL line comes after the files are written.
    let (mut child, _url) = spawn(&["--write-certs", certs.to_str().unwrap()]).await;
    for form in SignatureForm::ALL {
        let written = std::fs::read_to_string(certs.join(format!("{form}.pem"))).unwrap();
        assert_eq!(
            written,
            IdentitySigner::test().certificate_pem(form),
            "{form}"
        );
    }
    child.kill().await.unwrap();

    // A directory that cannot be made: exit 1, with the reason.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let output = run(&["--port", "0", "--write-certs", file.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write certificates"), "{stderr}");
}
