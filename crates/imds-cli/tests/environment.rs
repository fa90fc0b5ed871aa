//! `imds env` and `imds exec`, run as the built binary against a mock
//! IMDS; `env`'s output is run through `sh` as `eval` would.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use imds_mock::MockImds;
use imds_mock::defaults::*;
use support::Sandbox;
use tokio::io::AsyncWriteExt;

/// A tag whose value a shell would expand if it were not quoted.
const TRICKY: &str = "it's $(id) `id` $HOME \"x\"\n";

async fn mock() -> MockImds {
    MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1"), ("Tricky", TRICKY)])
        .build()
        .start()
        .await
        .unwrap()
}

/// The common variables of the default instance, as `imds env` prints them.
fn common_exports() -> String {
    format!(
        "export AWS_REGION='{REGION}'\n\
         export AWS_DEFAULT_REGION='{REGION}'\n\
         export EC2_INSTANCE_ID='{INSTANCE_ID}'\n\
         export EC2_INSTANCE_TYPE='{INSTANCE_TYPE}'\n\
         export EC2_AMI_ID='{AMI_ID}'\n\
         export EC2_ACCOUNT_ID='{ACCOUNT_ID}'\n\
         export EC2_AVAILABILITY_ZONE='{AVAILABILITY_ZONE}'\n\
         export EC2_AVAILABILITY_ZONE_ID='{AVAILABILITY_ZONE_ID}'\n\
         export EC2_LOCAL_IPV4='{LOCAL_IPV4}'\n"
    )
}

/// `script` run by `sh -c`, its stdout.
async fn sh(script: &str) -> String {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// `imds exec ARGS` with `stdin` as its input: exit status and stdout.
async fn exec(
    sandbox: &Sandbox,
    mock: &MockImds,
    args: &[&str],
    stdin: &[u8],
) -> (std::process::ExitStatus, String) {
    let mut child = sandbox
        .command(env!("CARGO_BIN_EXE_imds"), &mock.base_url())
        .args(["--endpoint", &mock.base_url(), "exec"])
        .args(args)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    (output.status, String::from_utf8(output.stdout).unwrap())
}

#[tokio::test]
async fn env_prints_the_common_values_as_export_lines() {
    let mock = mock().await;
    let run = Sandbox::new().run(&mock.base_url(), &["env"]).await.ok();
    assert_eq!(run.stdout_text(), common_exports());
    // The identity document and the zone ID: two reads.
    assert_eq!(mock.stats().reads, 2);
}

#[tokio::test]
async fn env_adds_paths_named_by_the_rule_or_by_name_quoted_for_the_shell() {
    let mock = mock().await;
    let run = Sandbox::new()
        .run(
            &mock.base_url(),
            &[
                "env",
                "meta-data/tags/instance/Name",
                "TRICKY=meta-data/tags/instance/Tricky",
                "/latest/meta-data/mac",
            ],
        )
        .await
        .ok();
    let text = run.stdout_text();
    let extra = text.strip_prefix(&common_exports()).unwrap();
    assert_eq!(
        extra,
        format!(
            "export EC2_TAGS_INSTANCE_NAME='web-1'\n\
             export TRICKY='it'\\''s $(id) `id` $HOME \"x\"\n'\n\
             export EC2_MAC='{MAC}'\n"
        )
    );
    // What a shell's `eval` makes of it: the values, exactly.
    let script = format!("{text}printf '%s|%s|%s' \"$EC2_INSTANCE_ID\" \"$TRICKY\" \"$EC2_MAC\"");
    assert_eq!(sh(&script).await, format!("{INSTANCE_ID}|{TRICKY}|{MAC}"));
}

#[tokio::test]
async fn env_adds_credentials_only_when_asked() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox.run(&mock.base_url(), &["env"]).await.ok();
    assert!(!run.stdout_text().contains("AWS_ACCESS_KEY_ID"));
    let run = sandbox
        .run(&mock.base_url(), &["env", "--credentials"])
        .await
        .ok();
    let credentials = sandbox
        .run(&mock.base_url(), &["credentials", "--format", "env"])
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        format!("{}{}", common_exports(), credentials.stdout_text())
    );
}

#[tokio::test]
async fn env_fails_whole_on_a_missing_path_or_a_bad_argument() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(
            &mock.base_url(),
            &["env", "meta-data/mac", "meta-data/nope"],
        )
        .await
        .fails(3);
    assert_eq!(run.stderr, "imds: meta-data/nope: not found\n");
    let reads = mock.stats().reads;
    let run = sandbox
        .run(&mock.base_url(), &["env", "/latest/"])
        .await
        .fails(2);
    assert!(run.stderr.contains("NAME=/latest/"), "{run:?}");
    assert_eq!(mock.stats().reads, reads, "checked before any request");
}

#[tokio::test]
async fn exec_runs_the_command_with_the_values_stdin_stdout_and_status_passed_through() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let script = "cat; printf '%s|%s|%s|%s' \"$EC2_INSTANCE_ID\" \"$AWS_REGION\" \"$EC2_MAC\" \
                  \"${AWS_ACCESS_KEY_ID-unset}\"; exit 7";
    let (status, stdout) = exec(
        &sandbox,
        &mock,
        &["--path", "meta-data/mac", "--", "sh", "-c", script],
        b"from stdin\n",
    )
    .await;
    assert_eq!(status.code(), Some(7));
    assert_eq!(
        stdout,
        format!("from stdin\n{INSTANCE_ID}|{REGION}|{MAC}|unset")
    );
    // The command's arguments are its own, flags included.
    let (status, stdout) = exec(&sandbox, &mock, &["printf", "%s,", "-v", "--mock"], b"").await;
    assert!(status.success());
    assert_eq!(stdout, "-v,--mock,");
}

#[tokio::test]
async fn exec_sets_credentials_only_when_asked() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let script = "printf '%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\"";
    let (status, stdout) = exec(&sandbox, &mock, &["--credentials", "sh", "-c", script], b"").await;
    assert!(status.success());
    let credentials = sandbox
        .run(&mock.base_url(), &["credentials"])
        .await
        .ok()
        .json();
    assert_eq!(
        stdout,
        format!(
            "{}|{}|{}",
            credentials["AccessKeyId"].as_str().unwrap(),
            credentials["SecretAccessKey"].as_str().unwrap(),
            credentials["Token"].as_str().unwrap()
        )
    );
    assert!(stdout.starts_with("ASIA"), "{stdout}");
}

#[tokio::test]
async fn exec_is_the_command_a_signal_included() {
    let mock = mock().await;
    let (status, _) = exec(&Sandbox::new(), &mock, &["sh", "-c", "kill -TERM $$"], b"").await;
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

#[tokio::test]
async fn a_command_that_cannot_be_run_is_126_or_127() {
    let mock = mock().await;
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&mock.base_url(), &["exec", "--", "/nonexistent/command"])
        .await
        .fails(127);
    assert!(
        run.stderr
            .starts_with("imds: cannot run /nonexistent/command: "),
        "{run:?}"
    );
    let file = sandbox.root().join("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox
        .run(&mock.base_url(), &["exec", "--", file.to_str().unwrap()])
        .await
        .fails(126);
    // A missing path fails before anything runs.
    sandbox
        .run(
            &mock.base_url(),
            &[
                "exec",
                "--path",
                "meta-data/nope",
                "--",
                "/nonexistent/command",
            ],
        )
        .await
        .fails(3);
}
