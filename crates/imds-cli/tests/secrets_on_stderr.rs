//! With `-vv` (every log line this workspace writes), stderr never shows a
//! token, credentials or user data: not on success, not when IMDS sends
//! something broken that holds them.

mod support;

use imds_mock::{MockImds, TokenPutFault, TokenReply};
use support::Sandbox;

const USER_DATA_SECRET: &str = "DB_PASSWORD=hunter2-user-data-secret";
const CREDENTIALS: &str = "meta-data/iam/security-credentials/imds-mock-role";

async fn mock() -> MockImds {
    MockImds::builder()
        .user_data(format!("#!/bin/sh\nexport {USER_DATA_SECRET}\n"))
        .tags_enabled(true)
        .build()
        .start()
        .await
        .unwrap()
}

/// Asserts that `stderr`, the output of a `-vv` run, holds log lines (so
/// that the absence of the secrets means something) and none of them.
fn assert_hidden(stderr: &str, secrets: &[&str]) {
    assert!(
        stderr.contains("DEBUG imds") || stderr.contains("DEBUG tower_imds"),
        "no log line on stderr:\n{stderr}"
    );
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!stderr.contains(secret), "{secret:?} in stderr:\n{stderr}");
    }
}

#[tokio::test]
async fn every_command_with_vv_keeps_secrets_off_stderr() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let url = mock.base_url();

    let credentials = sandbox
        .run(&url, &["-vv", "credentials", "--format", "json"])
        .await;
    assert_eq!(credentials.code, 0, "{credentials:?}");
    let document = credentials.json();
    let token = sandbox.run(&url, &["-vv", "token"]).await;
    assert_eq!(token.code, 0, "{token:?}");
    let token_value = token.stdout_text().trim().to_owned();
    let cache = std::fs::read_to_string(sandbox.token_file(&mock)).unwrap();
    let cached: serde_json::Value = serde_json::from_str(&cache).unwrap();
    let secrets = [
        document["SecretAccessKey"].as_str().unwrap(),
        document["Token"].as_str().unwrap(),
        &token_value,
        cached["token"].as_str().unwrap(),
        USER_DATA_SECRET,
        "hunter2",
    ];
    assert_hidden(&credentials.stderr, &secrets);
    assert_hidden(&token.stderr, &secrets);

    for args in [
        &["-vv", "user-data"][..],
        &["-vv", "dump"],
        &["-vv", "dump", "-L"],
        &["-vv", "get", "user-data", CREDENTIALS],
        &["-vv", "credentials", "--format", "env"],
        &["-vv", "credentials", "--format", "credential-process"],
        // Fetched and saved, then read back from the cache file.
        &["-vv", "credentials", "--cache"],
        &["-vv", "credentials", "--cache"],
        &["-vv", "env", "--credentials", "user-data"],
        &[
            "-vv",
            "exec",
            "--credentials",
            "--path",
            "user-data",
            "--",
            "/bin/sh",
            "-c",
            ":",
        ],
        &["-vv", "wait", "--path", "user-data"],
    ] {
        let run = sandbox.run(&url, args).await;
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert_hidden(&run.stderr, &secrets);
    }
    let ec2_metadata = [
        "ec2-metadata",
        "--endpoint",
        &url,
        "--verbose",
        "--verbose",
        "-d",
    ];
    let run = sandbox.run_raw(&url, &ec2_metadata, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_hidden(&run.stderr, &secrets);
    // The secrets were there to leak: on stdout, where they belong.
    let run = sandbox
        .run(&url, &["-vv", "get", "user-data", CREDENTIALS])
        .await;
    let stdout = run.stdout_text();
    for secret in &secrets[..2] {
        assert!(stdout.contains(secret), "{secret:?} not in {stdout}");
    }
    assert!(stdout.contains(USER_DATA_SECRET), "{stdout}");
    // A rotation: new secrets, still hidden, and the old ones too.
    mock.advance_clock(std::time::Duration::from_secs(6 * 3600));
    let run = sandbox
        .run(&url, &["-vv", "credentials", "--format", "env"])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let rotated = sandbox
        .run(&url, &["credentials", "--format", "json"])
        .await
        .json();
    assert_ne!(rotated["SecretAccessKey"], document["SecretAccessKey"]);
    let mut all = secrets.to_vec();
    all.extend([
        rotated["SecretAccessKey"].as_str().unwrap(),
        rotated["Token"].as_str().unwrap(),
    ]);
    assert_hidden(&run.stderr, &all);
}

#[tokio::test]
async fn a_corrupt_or_refused_cached_token_is_not_quoted_on_stderr() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let url = mock.base_url();
    sandbox.run(&url, &["get", "meta-data/ami-id"]).await.ok();
    let file = sandbox.token_file(&mock);

    // A token file that does not parse (a string where a number goes).
    let corrupt = "AQAEACORRUPT-cached-token-secret";
    std::fs::write(
        &file,
        format!(r#"{{"token": "{corrupt}", "expires_at": "{corrupt}"}}"#),
    )
    .unwrap();
    let run = sandbox.run(&url, &["-vv", "get", "meta-data/ami-id"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("corrupt"), "{run:?}");
    assert_hidden(&run.stderr, &[corrupt]);

    // A well-formed cached token IMDS no longer knows.
    let stale: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let stale = stale["token"].as_str().unwrap().to_owned();
    mock.expire_tokens();
    let run = sandbox.run(&url, &["-vv", "get", "meta-data/ami-id"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("loaded from the token store"),
        "{run:?}"
    );
    assert_eq!(mock.stats().token_puts, 3, "the stale token was replaced");
    let fresh: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_hidden(&run.stderr, &[&stale, fresh["token"].as_str().unwrap()]);
}

#[tokio::test]
async fn broken_answers_that_hold_secrets_are_not_quoted_on_stderr() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let url = mock.base_url();
    let secret = "wJalrXUtnFEMI-K7MDENG-SECRET";
    let session = "IQoJb3JpZ2luX2VjSESSIONTOKEN";

    let truncated = format!(
        r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "{secret}", "Token": "{session}"#
    );
    let wrong_type = format!(
        r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "{secret}", "Token": ["{session}"], "Expiration": "2100-01-01T00:00:00Z"}}"#
    );
    let bad_expiry = format!(
        r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "{secret}", "Token": "{session}", "Expiration": "{secret}"}}"#
    );
    for body in [truncated, wrong_type, bad_expiry] {
        mock.set_metadata(CREDENTIALS, body.clone());
        for format in ["json", "env", "credential-process"] {
            let run = sandbox
                .run(&url, &["-vv", "credentials", "--format", format])
                .await
                .fails(1);
            assert_hidden(&run.stderr, &[secret, session]);
        }
    }

    // A token answer that is not a token, with a secret-looking value.
    let fake_token = "AQAEAFAKE-TOKEN-VALUE-1234";
    mock.fault_next_token_puts(
        1,
        TokenPutFault::Reply(TokenReply::new(format!("{fake_token}\r\n"))),
    );
    let run = sandbox
        .run(
            &url,
            &["-vv", "--no-token-cache", "get", "meta-data/ami-id"],
        )
        .await;
    assert_ne!(run.code, 0, "{run:?}");
    assert_hidden(&run.stderr, &[fake_token]);
}
