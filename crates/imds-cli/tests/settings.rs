//! Global flags, settings from the environment and the profile, exit codes,
//! logging, `--mock` and `--help`, through the built binary.

mod support;

use std::fs;
use std::time::Duration;

use http::StatusCode;
use imds_mock::MockImds;
use support::{REFUSED, Sandbox};

const INSTANCE_ID: &[&str] = &["get", "meta-data/instance-id"];

// ---- exit 4: IMDS disabled or unreachable -------------------------------

#[tokio::test]
async fn an_endpoint_that_refuses_connections_is_exit_4() {
    let run = Sandbox::new().run(REFUSED, INSTANCE_ID).await.fails(4);
    assert!(
        run.stderr
            .contains("could not reach IMDS at http://127.0.0.1:1")
    );
    assert!(
        run.stderr.contains("AWS_EC2_METADATA_DISABLED=true"),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
}

#[tokio::test]
async fn imds_disabled_by_the_environment_is_exit_4_without_a_request() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    for command in [
        &["get", "meta-data/ami-id"][..],
        &["dump"],
        &["user-data"],
        &["credentials"],
        &["token"],
    ] {
        let run = sandbox
            .run_with(
                &mock.base_url(),
                command,
                &[("AWS_EC2_METADATA_DISABLED", "TRUE")],
            )
            .await
            .fails(4);
        assert!(
            run.stderr.contains("AWS_EC2_METADATA_DISABLED"),
            "{command:?}: {run:?}"
        );
    }
    let stats = mock.stats();
    assert_eq!(stats.reads + stats.token_requests, 0);
}

#[tokio::test]
async fn imds_turned_off_on_the_instance_is_exit_4() {
    let mock = MockImds::builder()
        .disabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let run = Sandbox::new()
        .run(&mock.base_url(), INSTANCE_ID)
        .await
        .fails(4);
    assert!(run.stderr.contains("403"), "{run:?}");
}

#[tokio::test]
async fn an_unanswered_token_request_is_exit_4_after_the_timeout() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_token_put_unanswered(true);
    let run = Sandbox::new()
        .run(
            &mock.base_url(),
            &["--timeout", "200ms", "get", "meta-data/ami-id"],
        )
        .await
        .fails(4);
    assert!(
        run.stderr.contains("did not answer within 200ms"),
        "{run:?}"
    );
    assert!(run.stderr.contains("HttpPutResponseHopLimit"), "{run:?}");
    // Probe mode: one attempt, not four.
    assert_eq!(mock.stats().token_requests, 1);
}

// ---- exit 2: usage and invalid settings ---------------------------------

#[tokio::test]
async fn bad_flags_are_exit_2() {
    let sandbox = Sandbox::new();
    for args in [
        &[][..],
        &["--endpoint", REFUSED],
        &["--endpoint", REFUSED, "frobnicate"],
        &["--endpoint", REFUSED, "get"],
        &["--endpoint", REFUSED, "--ttl", "0", "token"],
        &["--endpoint", REFUSED, "--ttl", "21601", "token"],
        &["--endpoint", REFUSED, "--ttl", "x", "token"],
        &["--endpoint", REFUSED, "--attempts", "0", "token"],
        &["--endpoint", REFUSED, "--timeout", "0", "token"],
        &["--endpoint", REFUSED, "--timeout", "-1", "token"],
        &["--endpoint", REFUSED, "--endpoint-mode", "ipv5", "token"],
        &["--endpoint", REFUSED, "credentials", "--format", "yaml"],
        &["--mock", "--endpoint", REFUSED, "token"],
        &["--mock", "--endpoint-mode", "ipv4", "token"],
    ] {
        let run = sandbox.run_raw(REFUSED, args, &[]).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
    }
}

#[tokio::test]
async fn invalid_endpoints_are_exit_2() {
    let sandbox = Sandbox::new();
    for endpoint in [
        "not a uri",
        "http://[::1",
        "ftp://127.0.0.1",
        "http://127.0.0.1:1/path",
        "",
    ] {
        let run = sandbox
            .run_raw(REFUSED, &["--endpoint", endpoint, "token"], &[])
            .await
            .fails(2);
        assert!(run.stderr.contains("IMDS endpoint"), "{endpoint}: {run:?}");
    }
}

#[tokio::test]
async fn an_endpoint_with_a_password_is_exit_2_without_quoting_it() {
    let run = Sandbox::new()
        .run_raw(
            REFUSED,
            &["-vv", "--endpoint", "http://u:s3cret@127.0.0.1:1", "token"],
            &[],
        )
        .await
        .fails(2);
    assert!(run.stderr.contains("user name or password"), "{run:?}");
    assert!(!run.stderr.contains("s3cret"), "{run:?}");
}

#[tokio::test]
async fn an_invalid_setting_in_the_environment_is_exit_2_and_named() {
    let mock = MockImds::start_default().await.unwrap();
    let run = Sandbox::new()
        .run_with(
            &mock.base_url(),
            INSTANCE_ID,
            &[("AWS_METADATA_SERVICE_TIMEOUT", "soon")],
        )
        .await
        .fails(2);
    assert!(
        run.stderr.contains("AWS_METADATA_SERVICE_TIMEOUT"),
        "{run:?}"
    );
    assert_eq!(mock.stats().token_requests, 0);
}

// ---- global flags -------------------------------------------------------

#[tokio::test]
async fn the_endpoint_flag_wins_over_the_environment() {
    let mock = MockImds::start_default().await.unwrap();
    let run = Sandbox::new()
        .run_raw(
            REFUSED,
            &[
                "--endpoint",
                &format!("{}/", mock.base_url()),
                "get",
                "meta-data/instance-type",
            ],
            &[],
        )
        .await
        .ok();
    assert_eq!(run.stdout, b"t3.micro");
}

#[tokio::test]
async fn an_explicit_endpoint_wins_over_the_endpoint_mode() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    for mode in ["ipv4", "IPv6", "auto"] {
        let run = sandbox
            .run(
                &mock.base_url(),
                &["--endpoint-mode", mode, "get", "meta-data/instance-type"],
            )
            .await
            .ok();
        assert_eq!(run.stdout, b"t3.micro", "{mode}");
    }
    // And the endpoint mode of the environment is validated all the same.
    sandbox
        .run_with(
            &mock.base_url(),
            INSTANCE_ID,
            &[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5")],
        )
        .await
        .fails(2);
}

#[tokio::test]
async fn fallback_v1_reads_without_a_token_when_imdsv2_is_not_offered() {
    let mock = MockImds::builder()
        .imdsv1_allowed(true)
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    // A v1-only endpoint answers the token request with 405.
    mock.fail_next(1, StatusCode::METHOD_NOT_ALLOWED);
    sandbox.run(&mock.base_url(), INSTANCE_ID).await.fails(4);

    mock.fail_next(1, StatusCode::METHOD_NOT_ALLOWED);
    let run = sandbox
        .run(
            &mock.base_url(),
            &["--fallback-v1", "get", "meta-data/instance-type"],
        )
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"t3.micro");
    assert!(run.stderr.contains("falling back to IMDSv1"), "{run:?}");
    assert_eq!(mock.stats().token_puts, 0);

    // No token to print.
    mock.fail_next(1, StatusCode::METHOD_NOT_ALLOWED);
    let run = sandbox
        .run(&mock.base_url(), &["--fallback-v1", "token"])
        .await
        .fails(4);
    assert!(run.stderr.contains("IMDSv2 is not available"), "{run:?}");

    // IMDSv1 disabled by the environment wins over the flag.
    mock.fail_next(1, StatusCode::METHOD_NOT_ALLOWED);
    sandbox
        .run_with(
            &mock.base_url(),
            &["--fallback-v1", "get", "meta-data/instance-type"],
            &[("AWS_EC2_METADATA_V1_DISABLED", "true")],
        )
        .await
        .fails(4);
}

#[tokio::test]
async fn the_timeout_flag_bounds_each_attempt() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_latency(Duration::from_millis(500));
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(
            &mock.base_url(),
            &["--timeout", "0.1", "get", "meta-data/ami-id"],
        )
        .await
        .fails(4);
    assert!(
        run.stderr.contains("did not answer within 100ms"),
        "{run:?}"
    );
    sandbox
        .run(
            &mock.base_url(),
            &["--timeout", "5s", "get", "meta-data/ami-id"],
        )
        .await
        .ok();
}

#[tokio::test]
async fn the_attempts_flag_retries_server_errors() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    let run = sandbox
        .run(
            &mock.base_url(),
            &["--attempts", "2", "get", "meta-data/ami-id"],
        )
        .await
        .fails(1);
    assert!(run.stderr.contains("503"), "{run:?}");

    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    sandbox
        .run(
            &mock.base_url(),
            &["--attempts", "3", "get", "meta-data/ami-id"],
        )
        .await
        .ok();
    // The same for reads, once a token is cached.
    mock.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    sandbox
        .run(
            &mock.base_url(),
            &["--attempts", "3", "get", "meta-data/ami-id"],
        )
        .await
        .ok();
    mock.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    sandbox
        .run(
            &mock.base_url(),
            &["--attempts", "1", "get", "meta-data/ami-id"],
        )
        .await
        .fails(1);
}

#[tokio::test]
async fn settings_come_from_the_profile() {
    let mock = MockImds::builder()
        .role_name("web-role")
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    fs::write(
        sandbox.config_file(),
        "[default]\n\
         ec2_instance_profile_name = web-role\n\
         [profile other]\n\
         ec2_instance_profile_name = other-role\n\
         [profile broken]\n\
         metadata_service_num_attempts = many\n",
    )
    .unwrap();
    sandbox.run(&mock.base_url(), &["credentials"]).await.ok();
    let run = sandbox
        .run(&mock.base_url(), &["--profile", "other", "credentials"])
        .await
        .fails(3);
    assert!(run.stderr.contains("configured role other-role"), "{run:?}");
    // AWS_PROFILE does the same; --profile wins over it.
    sandbox
        .run_with(
            &mock.base_url(),
            &["credentials"],
            &[("AWS_PROFILE", "other")],
        )
        .await
        .fails(3);
    sandbox
        .run_with(
            &mock.base_url(),
            &["--profile", "default", "credentials"],
            &[("AWS_PROFILE", "other")],
        )
        .await
        .ok();
    let run = sandbox
        .run(
            &mock.base_url(),
            &["--profile", "broken", INSTANCE_ID[0], INSTANCE_ID[1]],
        )
        .await
        .fails(2);
    assert!(
        run.stderr.contains("metadata_service_num_attempts"),
        "{run:?}"
    );
}

#[tokio::test]
async fn the_role_can_come_from_the_environment() {
    let mock = MockImds::start_default().await.unwrap();
    let run = Sandbox::new()
        .run_with(
            &mock.base_url(),
            &["credentials"],
            &[("AWS_EC2_INSTANCE_PROFILE_NAME", "not-attached")],
        )
        .await
        .fails(3);
    assert!(run.stderr.contains("not-attached"), "{run:?}");
}

/// The User-Agent of each request `mock` logged, in order.
fn user_agents(mock: &MockImds) -> Vec<Option<String>> {
    mock.requests().into_iter().map(|r| r.user_agent).collect()
}

#[tokio::test]
async fn the_app_id_from_the_environment_tags_every_request() {
    let mock = MockImds::start_default().await.unwrap();
    Sandbox::new()
        .run_with(
            &mock.base_url(),
            INSTANCE_ID,
            &[("AWS_SDK_UA_APP_ID", "nightly-backup")],
        )
        .await
        .ok();
    let expected = format!("imds/{} app/nightly-backup", env!("CARGO_PKG_VERSION"));
    // The PUT and the read.
    assert_eq!(user_agents(&mock), vec![Some(expected); 2]);

    // The flag wins over the environment; an invalid one is a usage error.
    mock.clear_requests();
    Sandbox::new()
        .run_with(
            &mock.base_url(),
            &["--app-id", "from-flag", "get", "meta-data/instance-id"],
            &[("AWS_SDK_UA_APP_ID", "nightly-backup")],
        )
        .await
        .ok();
    let expected = format!("imds/{} app/from-flag", env!("CARGO_PKG_VERSION"));
    assert_eq!(user_agents(&mock), vec![Some(expected); 2]);
    let run = Sandbox::new()
        .run(&mock.base_url(), &["--app-id", "a b", "token"])
        .await
        .fails(2);
    assert!(
        run.stderr
            .contains("invalid application ID \"a b\" given on the command line"),
        "{run:?}"
    );

    // One the CLI cannot use (the AWS SDKs never refuse it either): a
    // warning naming it, and the read goes on without the tag.
    mock.clear_requests();
    let run = Sandbox::new()
        .run_with(
            &mock.base_url(),
            INSTANCE_ID,
            &[("AWS_SDK_UA_APP_ID", "two words")],
        )
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout_text(), imds_mock::defaults::INSTANCE_ID);
    assert!(
        run.stderr.contains("AWS_SDK_UA_APP_ID") && run.stderr.contains("not used"),
        "{run:?}"
    );
    assert_eq!(user_agents(&mock), vec![None; 2]);
}

// ---- logging never shows a secret ---------------------------------------

#[tokio::test]
async fn verbose_logs_go_to_stderr_without_secrets() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    // First run fetches and caches a token; the second loads it.
    for _ in 0..2 {
        let run = sandbox
            .run(
                &mock.base_url(),
                &["-vv", "credentials", "--format", "credential-process"],
            )
            .await;
        assert_eq!(run.code, 0, "{run:?}");
        let json = run.json();
        let token = fs::read_to_string(sandbox.token_file(&mock)).unwrap();
        let token: serde_json::Value = serde_json::from_str(&token).unwrap();
        assert!(run.stderr.contains("DEBUG"), "{run:?}");
        for secret in [
            json["AccessKeyId"].as_str().unwrap(),
            json["SecretAccessKey"].as_str().unwrap(),
            json["SessionToken"].as_str().unwrap(),
            token["token"].as_str().unwrap(),
        ] {
            assert!(!run.stderr.contains(secret), "{secret} in {}", run.stderr);
        }
    }

    let run = sandbox.run(&mock.base_url(), &["-vv", "token"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("requesting an IMDS token"), "{run:?}");
    assert!(!run.stderr.contains(run.stdout_text().trim()), "{run:?}");

    let run = sandbox.run(&mock.base_url(), &["-v", "user-data"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    // -v logs (so the checks below mean something), the data goes to stdout.
    assert!(
        run.stderr
            .contains("IMDS token loaded from the token store"),
        "{run:?}"
    );
    assert_eq!(run.stdout, imds_mock::DEFAULT_USER_DATA);
    assert!(!run.stderr.contains("echo mock"), "{run:?}");
    // No colour codes when stderr is not a terminal.
    assert!(!run.stderr.contains('\x1b'), "{run:?}");
}

#[tokio::test]
async fn without_v_a_success_is_silent_on_stderr() {
    let mock = MockImds::start_default().await.unwrap();
    Sandbox::new().run(&mock.base_url(), INSTANCE_ID).await.ok();
}

// ---- --mock, --help, --version ------------------------------------------

#[tokio::test]
async fn mock_serves_every_command_off_ec2() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_mock(&["dump"]).await.ok();
    assert_eq!(
        run.json()["meta-data"]["tags"]["instance"]["Name"],
        "imds-mock"
    );
    let run = sandbox
        .run_mock(&["get", "meta-data/placement/region"])
        .await
        .ok();
    assert_eq!(run.stdout, b"us-east-1");
    let run = sandbox.run_mock(&["user-data"]).await.ok();
    assert_eq!(run.stdout, imds_mock::DEFAULT_USER_DATA);
    let run = sandbox
        .run_mock(&["credentials", "--format", "credential-process"])
        .await
        .ok();
    assert_eq!(run.json()["Version"], 1);
    let run = sandbox.run_mock(&["token", "--ttl", "60"]).await.ok();
    assert!(!run.stdout_text().trim().is_empty());
    sandbox.run_mock(&["dump", "-L"]).await.ok();
    // The mock is asked for explicitly: a disabled IMDS means the real one.
    sandbox
        .run_raw(
            REFUSED,
            &["--mock", "get", "meta-data/ami-id"],
            &[("AWS_EC2_METADATA_DISABLED", "true")],
        )
        .await
        .ok();
}

#[tokio::test]
async fn help_shows_examples_settings_and_exit_codes() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_raw(REFUSED, &["--help"], &[]).await.ok();
    let help = run.stdout_text();
    for expected in [
        "Examples:",
        "imds --mock dump",
        "credential_process = imds credentials --format credential-process",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "--no-token-cache",
        "Exit status: 0 success, 1 other failure, 2 usage or invalid setting,\n3 not found, 4 IMDS disabled or unreachable, 5 identity not verified.",
    ] {
        assert!(help.contains(expected), "{expected} in {help}");
    }
    for command in [
        "get",
        "dump",
        "user-data",
        "credentials",
        "token",
        "events",
        "identity",
        "verify-identity",
    ] {
        let run = sandbox
            .run_raw(REFUSED, &[command, "--help"], &[])
            .await
            .ok();
        assert!(run.stdout_text().contains("Usage: imds"), "{command}");
    }
    let run = sandbox.run_raw(REFUSED, &["--version"], &[]).await.ok();
    assert!(run.stdout_text().starts_with("imds "));
}
