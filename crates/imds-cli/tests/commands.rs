//! Every command, run as the built binary against a mock IMDS.

mod support;

use std::time::Duration;

use imds_mock::MockImds;
use serde_json::Value;
use support::{Sandbox, status_with_token};

async fn mock() -> MockImds {
    MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1"), ("Cost:Center", "42")])
        .build()
        .start()
        .await
        .unwrap()
}

// ---- get ----------------------------------------------------------------

#[tokio::test]
async fn get_prints_one_value_byte_for_byte() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["get", "meta-data/instance-type"])
        .await
        .ok();
    // No newline added when stdout is not a terminal.
    assert_eq!(run.stdout, b"t3.micro");
    let run = sandbox
        .run(
            &mock.base_url(),
            &["get", "/latest/meta-data/placement/region"],
        )
        .await
        .ok();
    assert_eq!(run.stdout, b"us-east-1");
}

#[tokio::test]
async fn get_prints_several_values_one_per_line() {
    let mock = mock().await;
    let run = Sandbox::new()
        .run(
            &mock.base_url(),
            &[
                "get",
                "meta-data/instance-type",
                "meta-data/placement/availability-zone",
                "meta-data/placement/",
            ],
        )
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        "t3.micro\nus-east-1a\navailability-zone\navailability-zone-id\nregion\n"
    );
}

#[tokio::test]
async fn get_json_wraps_values_in_an_object() {
    let mock = mock().await;
    let run = Sandbox::new()
        .run(
            &mock.base_url(),
            &[
                "get",
                "--json",
                "meta-data/instance-type",
                "meta-data/ami-id",
            ],
        )
        .await
        .ok();
    let json = run.json();
    assert_eq!(json["meta-data/instance-type"], "t3.micro");
    assert!(
        json["meta-data/ami-id"]
            .as_str()
            .unwrap()
            .starts_with("ami-")
    );
    assert_eq!(json.as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn get_of_a_missing_path_is_exit_3_and_prints_nothing() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["get", "meta-data/spot/instance-action"])
        .await
        .fails(3);
    assert_eq!(
        run.stderr,
        "imds: meta-data/spot/instance-action: not found\n"
    );
    // Among others: nothing printed, each missing path named on one line.
    let run = sandbox
        .run(
            &mock.base_url(),
            &["get", "meta-data/ami-id", "nope", "--json", "nope/either"],
        )
        .await
        .fails(3);
    assert_eq!(
        run.stderr,
        "imds: nope: not found\nimds: nope/either: not found\n"
    );
}

#[tokio::test]
async fn get_of_an_invalid_path_is_a_usage_error() {
    let mock = mock().await;
    let run = Sandbox::new()
        .run(&mock.base_url(), &["get", "meta-data/a b"])
        .await
        .fails(2);
    assert!(run.stderr.contains("invalid IMDS path"), "{run:?}");
    assert_eq!(mock.stats().reads, 0);
}

#[tokio::test]
async fn get_of_binary_data_is_byte_exact_alone_and_refused_among_text() {
    let bytes: Vec<u8> = (0..=255u8).rev().collect();
    let mock = MockImds::builder()
        .user_data(bytes.clone())
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["get", "user-data"])
        .await
        .ok();
    assert_eq!(run.stdout, bytes);
    let run = sandbox
        .run(&mock.base_url(), &["get", "user-data", "meta-data/ami-id"])
        .await
        .fails(1);
    assert!(
        run.stderr.contains("user-data is not UTF-8 text"),
        "{run:?}"
    );
    sandbox
        .run(&mock.base_url(), &["get", "--json", "user-data"])
        .await
        .fails(1);
}

// ---- dump ---------------------------------------------------------------

#[tokio::test]
async fn dump_prints_the_whole_tree_as_json() {
    let mock = mock().await;
    let run = Sandbox::new().run(&mock.base_url(), &["dump"]).await.ok();
    let tree = run.json();
    assert_eq!(tree["meta-data"]["placement"]["region"], "us-east-1");
    assert_eq!(tree["meta-data"]["tags"]["instance"]["Name"], "web-1");
    assert_eq!(
        tree["dynamic"]["instance-identity"]["document"]["instanceType"],
        "t3.micro"
    );
    assert_eq!(
        tree["meta-data"]["iam"]["security-credentials"]["imds-mock-role"]["Code"],
        "Success"
    );
    assert!(tree.get("user-data").is_none());
    assert!(run.stdout.ends_with(b"}\n"));
}

#[tokio::test]
async fn dump_of_a_prefix_prints_that_subtree() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["dump", "meta-data/placement/"])
        .await
        .ok();
    assert_eq!(
        run.json(),
        serde_json::json!({
            "availability-zone": "us-east-1a",
            "availability-zone-id": "use1-az4",
            "region": "us-east-1",
        })
    );
    sandbox
        .run(&mock.base_url(), &["dump", "meta-data/nothing-here/"])
        .await
        .fails(3);
}

#[tokio::test]
async fn dump_list_prints_paths_without_fetching_values() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox.run(&mock.base_url(), &["dump", "-L"]).await.ok();
    let text = run.stdout_text();
    let paths: Vec<&str> = text.lines().collect();
    for expected in [
        "dynamic/instance-identity/document",
        "meta-data/instance-id",
        "meta-data/placement/region",
        "meta-data/public-keys/0/openssh-key",
        "meta-data/tags/instance/Cost:Center",
        "meta-data/iam/security-credentials/imds-mock-role",
    ] {
        assert!(paths.contains(&expected), "{expected} in {text}");
    }
    assert!(
        !paths.iter().any(|path| path.contains("user-data")),
        "{text}"
    );
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    // Listings only: no value was read.
    let stats = mock.stats();
    assert_eq!(stats.path_count("/latest/meta-data/instance-id"), 0);
    assert_eq!(stats.path_count("/latest/meta-data/placement/region"), 0);
    assert_eq!(stats.path_count("/latest/meta-data/placement/"), 1);
    // --list is -L.
    let long = sandbox
        .run(&mock.base_url(), &["dump", "--list"])
        .await
        .ok();
    assert_eq!(long.stdout_text(), text);
    assert_eq!(mock.stats().path_count("/latest/meta-data/instance-id"), 0);
}

#[tokio::test]
async fn dump_regex_fetches_only_the_matching_paths() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(
            &mock.base_url(),
            &["dump", "-E", "placement/(region|availability-zone)$"],
        )
        .await
        .ok();
    assert_eq!(
        run.json(),
        serde_json::json!({"meta-data": {"placement": {
            "availability-zone": "us-east-1a",
            "region": "us-east-1",
        }}})
    );
    let stats = mock.stats();
    assert_eq!(stats.path_count("/latest/meta-data/placement/region"), 1);
    assert_eq!(
        stats.path_count("/latest/meta-data/placement/availability-zone-id"),
        0
    );
    assert_eq!(stats.path_count("/latest/meta-data/instance-id"), 0);

    // JSON documents are parsed, as in a full dump; under a prefix, keys
    // start there.
    let run = sandbox
        .run(
            &mock.base_url(),
            &["dump", "/latest/dynamic", "--regex", "document"],
        )
        .await
        .ok();
    assert_eq!(
        run.json()["instance-identity"]["document"]["region"],
        "us-east-1"
    );
}

#[tokio::test]
async fn dump_regex_and_list_together_list_the_matching_paths() {
    let mock = mock().await;
    let run = Sandbox::new()
        .run(
            &mock.base_url(),
            &["dump", "meta-data/", "-L", "-E", "tags/"],
        )
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        "meta-data/tags/instance/Cost:Center\nmeta-data/tags/instance/Name\n"
    );
}

#[tokio::test]
async fn dump_regex_errors() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["dump", "-E", "(unclosed"])
        .await
        .fails(2);
    assert!(
        run.stderr.contains("invalid -E regular expression"),
        "{run:?}"
    );
    let run = sandbox
        .run(&mock.base_url(), &["dump", "-E", "^nothing-matches$"])
        .await
        .fails(3);
    assert!(run.stderr.contains("matches"), "{run:?}");
    sandbox
        .run(&mock.base_url(), &["dump", "-L", "/2021-07-15/"])
        .await
        .fails(2);
}

// ---- user-data ----------------------------------------------------------

#[tokio::test]
async fn user_data_round_trips_binary_bytes_exactly() {
    // Every byte value, a NUL, an escape sequence, invalid UTF-8.
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend_from_slice(b"\x1b]0;title\x07\xff\xfe\0\r\n");
    let mock = MockImds::builder()
        .user_data(bytes.clone())
        .build()
        .start()
        .await
        .unwrap();
    let run = Sandbox::new()
        .run(&mock.base_url(), &["user-data"])
        .await
        .ok();
    assert_eq!(run.stdout, bytes);
}

#[tokio::test]
async fn user_data_default_mock_and_force_on_a_pipe() {
    let mock = mock().await;
    let run = Sandbox::new()
        .run(&mock.base_url(), &["user-data", "--force"])
        .await
        .ok();
    assert_eq!(run.stdout, imds_mock::DEFAULT_USER_DATA);
}

#[tokio::test]
async fn user_data_absent_is_exit_3() {
    let mock = MockImds::builder()
        .no_user_data()
        .build()
        .start()
        .await
        .unwrap();
    let run = Sandbox::new()
        .run(&mock.base_url(), &["user-data"])
        .await
        .fails(3);
    assert_eq!(run.stderr, "imds: this instance has no user data\n");
}

// ---- credentials --------------------------------------------------------

/// The role credentials as IMDS serves them.
async fn imds_document(sandbox: &Sandbox, mock: &MockImds, role: &str) -> Value {
    let path = format!("meta-data/iam/security-credentials/{role}");
    sandbox
        .run(&mock.base_url(), &["get", &path])
        .await
        .ok()
        .json()
}

#[tokio::test]
async fn credentials_json_is_the_role_document() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox.run(&mock.base_url(), &["credentials"]).await.ok();
    let json = run.json();
    let document = imds_document(&sandbox, &mock, "imds-mock-role").await;
    assert_eq!(json["RoleName"], "imds-mock-role");
    for field in [
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
        "LastUpdated",
    ] {
        assert_eq!(json[field], document[field], "{field}");
    }
}

#[tokio::test]
async fn credential_process_output_is_what_the_aws_cli_parses() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(
            &mock.base_url(),
            &["credentials", "--format", "credential-process"],
        )
        .await
        .ok();
    // One line of JSON, exactly these keys in this order.
    let text = run.stdout_text();
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.starts_with("{\"Version\":1,\"AccessKeyId\":\""),
        "{text}"
    );
    let json = run.json();
    let object = json.as_object().unwrap();
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = [
        "AccessKeyId",
        "Expiration",
        "SecretAccessKey",
        "SessionToken",
        "Version",
    ];
    expected.sort();
    assert_eq!(keys, expected);

    // The contract of aws-config's CredentialProcessProvider: Version 1,
    // non-empty strings, an RFC 3339 Expiration in the future.
    assert_eq!(json["Version"], 1);
    let document = imds_document(&sandbox, &mock, "imds-mock-role").await;
    assert_eq!(json["AccessKeyId"], document["AccessKeyId"]);
    assert_eq!(json["SecretAccessKey"], document["SecretAccessKey"]);
    assert_eq!(json["SessionToken"], document["Token"]);
    for field in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
        assert!(!json[field].as_str().unwrap().is_empty(), "{field}");
    }
    let expiration = json["Expiration"].as_str().unwrap();
    assert_eq!(expiration, document["Expiration"].as_str().unwrap());
    let at = humantime::parse_rfc3339(expiration).expect("RFC 3339");
    assert!(at > imds::clock::now() + Duration::from_secs(3600));
}

#[tokio::test]
async fn credentials_env_exports_for_a_shell() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["credentials", "--format", "env"])
        .await
        .ok();
    let exports = run.stdout_text();
    assert!(
        exports.starts_with("export AWS_ACCESS_KEY_ID='"),
        "{exports}"
    );
    let script = format!(
        "{exports}printf '%s\\n%s\\n%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\""
    );
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .output()
        .await
        .unwrap();
    let values = String::from_utf8(output.stdout).unwrap();
    let document = imds_document(&sandbox, &mock, "imds-mock-role").await;
    let expected = format!(
        "{}\n{}\n{}",
        document["AccessKeyId"].as_str().unwrap(),
        document["SecretAccessKey"].as_str().unwrap(),
        document["Token"].as_str().unwrap()
    );
    assert_eq!(values, expected);
}

#[tokio::test]
async fn credentials_of_a_named_role() {
    let mock = MockImds::builder()
        .role_name("web-role")
        .build()
        .start()
        .await
        .unwrap();
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["credentials", "--role", "web-role"])
        .await
        .ok();
    assert_eq!(run.json()["RoleName"], "web-role");
    let run = sandbox
        .run(&mock.base_url(), &["credentials", "--role", "other-role"])
        .await
        .fails(3);
    assert!(run.stderr.contains("configured role other-role"), "{run:?}");
}

#[tokio::test]
async fn credentials_without_an_instance_profile_is_exit_3() {
    let mock = MockImds::builder().no_role().build().start().await.unwrap();
    let run = Sandbox::new()
        .run(
            &mock.base_url(),
            &["credentials", "--format", "credential-process"],
        )
        .await
        .fails(3);
    assert!(run.stderr.contains("no IAM role is attached"), "{run:?}");
}

// ---- token --------------------------------------------------------------

#[tokio::test]
async fn token_prints_a_token_imds_accepts() {
    let mock = mock().await;
    let run = Sandbox::new().run(&mock.base_url(), &["token"]).await.ok();
    let text = run.stdout_text();
    let token = text.strip_suffix('\n').unwrap();
    assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()));
    assert_eq!(
        status_with_token(&mock, "/latest/meta-data/instance-id", token).await,
        200
    );
    let stats = mock.stats();
    assert_eq!(stats.token_puts, 1);
    // Nothing but the token request.
    assert_eq!(stats.reads, 1, "only the check above read");
}

#[tokio::test]
async fn token_ttl_sets_the_lifetime() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let short = sandbox
        .run(&mock.base_url(), &["token", "--ttl", "60"])
        .await
        .ok()
        .stdout_text();
    let long = sandbox
        .run(&mock.base_url(), &["--ttl", "120", "token"])
        .await
        .ok()
        .stdout_text();
    mock.advance_clock(Duration::from_secs(61));
    let path = "/latest/meta-data/instance-id";
    assert_eq!(status_with_token(&mock, path, short.trim()).await, 401);
    assert_eq!(status_with_token(&mock, path, long.trim()).await, 200);
}

#[tokio::test]
async fn token_is_always_new_and_never_cached() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let first = sandbox.run(&mock.base_url(), &["token"]).await.ok();
    let second = sandbox.run(&mock.base_url(), &["token"]).await.ok();
    assert_ne!(first.stdout, second.stdout);
    assert_eq!(mock.stats().token_puts, 2);
    assert!(!sandbox.token_dir().exists());
}
