//! The binary's event flags, its control API, and its AEMM-compatible
//! front, run as a built binary.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{BIN, Reply, StdoutLines, get_at, next_line, put_token_at, send, send_body};
use http::{Method, StatusCode};
use tokio::process::{Child, Command};
use tokio::time::Instant;

const INSTANCE_ACTION: &str = "/latest/meta-data/spot/instance-action";
const REBALANCE: &str = "/latest/meta-data/events/recommendations/rebalance";
const SCHEDULED: &str = "/latest/meta-data/events/maintenance/scheduled";
const HISTORY: &str = "/latest/meta-data/events/maintenance/history";
const LIFECYCLE: &str = "/latest/meta-data/autoscaling/target-lifecycle-state";
const TERMINATION_TIME: &str = "/latest/meta-data/spot/termination-time";

/// A running binary and the URL it printed.
struct Running {
    child: Child,
    url: String,
    lines: StdoutLines,
}

impl Running {
    /// Starts `program` with `args` and `env`, and reads the URL line.
    async fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let (child, mut lines) = common::spawn(
            Command::new(program)
                .args(args)
                .envs(env.iter().copied())
                .env("RUST_LOG", "off")
                .stderr(Stdio::null()),
        );
        let url = next_line(&mut lines).await;
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self { child, url, lines }
    }

    /// The `control: URL` line that follows the URL with `--control`.
    async fn control_url(&mut self) -> String {
        let line = next_line(&mut self.lines).await;
        line.strip_prefix("control: ")
            .unwrap_or_else(|| panic!("a control line: {line}"))
            .to_owned()
    }

    async fn token(&self) -> String {
        let reply = put_token_at(&self.url, "21600").await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.text().to_owned()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        get_at(&self.url, path, token).await
    }
}

/// Runs the binary to completion (for refusals).
async fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    common::run(Command::new(BIN).args(args).envs(env.iter().copied())).await
}

#[tokio::test]
async fn event_flags_are_served_and_the_control_api_changes_them() {
    let mut mock = Running::start(
        BIN,
        &[
            "--port",
            "0",
            "--control",
            "0",
            "--spot",
            "stop",
            "--scheduled-event",
            "system-reboot",
            "--asg-state",
            "Standby",
        ],
        &[],
    )
    .await;
    let control = mock.control_url().await;
    assert!(
        control.starts_with("http://127.0.0.1:") && control != mock.url,
        "{control}"
    );
    let token = mock.token().await;
    let token = Some(token.as_str());
    assert_eq!(
        mock.get(INSTANCE_ACTION, token).await.json()["action"],
        "stop"
    );
    // As on EC2: marked to stop, not for termination.
    assert_eq!(
        mock.get(TERMINATION_TIME, token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(mock.get(LIFECYCLE, token).await.text(), "Standby");
    assert_eq!(
        mock.get(REBALANCE, token).await.status,
        StatusCode::NOT_FOUND
    );
    let scheduled = mock.get(SCHEDULED, token).await.json();
    let id = scheduled[0]["EventId"].as_str().unwrap().to_owned();

    // The same id in the control API's view, then canceled through it.
    let state = send(Method::GET, &format!("{control}/events"), &[])
        .await
        .unwrap();
    assert_eq!(state.json()["scheduled"][0]["event_id"], id.as_str());
    let reply = send_body(
        Method::PATCH,
        &format!("{control}/events/scheduled/{id}"),
        r#"{"state": "canceled"}"#,
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(mock.get(SCHEDULED, token).await.text(), "[]");
    assert_eq!(
        mock.get(HISTORY, token).await.json()[0]["EventId"],
        id.as_str()
    );

    let reply = send_body(
        Method::PUT,
        &format!("{control}/events/spot"),
        r#"{"action": "terminate"}"#,
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        mock.get(INSTANCE_ACTION, token).await.json()["action"],
        "terminate"
    );
    let reply = send(Method::DELETE, &format!("{control}/events/spot"), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        mock.get(INSTANCE_ACTION, token).await.status,
        StatusCode::NOT_FOUND
    );
    mock.child.kill().await.unwrap();
}

#[tokio::test]
async fn a_config_file_with_events_is_served() {
    let file = common::temp_file(
        r#"{"events": {"rebalance": {}, "autoscaling": {"terminate_after_secs": 0}}}"#,
    );
    let mut mock = Running::start(
        BIN,
        &["--port", "0", "--config", file.path().to_str().unwrap()],
        &[],
    )
    .await;
    let token = mock.token().await;
    assert_eq!(
        mock.get(REBALANCE, Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(mock.get(LIFECYCLE, Some(&token)).await.text(), "Terminated");
    mock.child.kill().await.unwrap();
}

#[tokio::test]
async fn bad_event_flags_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (&["--spot", "explode"][..], "not a Spot action"),
        (&["--spot-delay", "soon"], "not a duration"),
        (&["--spot-at", "2026-01-07"], "RFC 3339"),
        (&["--scheduled-event", "reboot"], "not an event code"),
        (
            &["--scheduled-event", "system-reboot:done"],
            "not an event state",
        ),
        (
            &["--spot-delay", "1", "--spot-at", "2026-01-07T01:03:47Z"],
            "cannot be used with",
        ),
        (&["--control", "nowhere"], "HOST:PORT"),
        (&["--asg-state", ""], "non-empty"),
    ] {
        let output = run(&[&["--port", "0"], args].concat(), &[]).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let file = common::temp_file(r#"{"events": {"spot": {"action": "explode"}}}"#);
    let output = run(
        &["--port", "0", "--config", file.path().to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("imds-mock: ") && stderr.contains("unknown variant `explode`"),
        "{stderr}"
    );
}

/// The AEMM front: an AEMM-style invocation with a Spot delay serves the
/// notice after the delay, as AEMM does, with IMDSv2 required (AEMM only
/// requires it with `-I`).
#[tokio::test]
async fn the_aemm_front_serves_the_spot_notice_after_its_delay() {
    // Long enough that the first reads below come before it even on a
    // loaded machine (they follow the spawn at once).
    let delay = Duration::from_secs(4);
    let spawned = Instant::now();
    let mut mock = Running::start(
        BIN,
        &["spot", "-d", "4", "--action", "stop", "-p", "0"],
        &[],
    )
    .await;
    let token = mock.token().await;
    let before = mock.get(INSTANCE_ACTION, Some(&token)).await;
    assert_eq!(
        before.status,
        StatusCode::NOT_FOUND,
        "read {:?} after the spawn",
        spawned.elapsed()
    );
    assert_eq!(
        mock.get(INSTANCE_ACTION, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // AEMM's spot command serves the rebalance recommendation too (its own
    // delay, 0), and nothing of the other commands.
    assert_eq!(
        mock.get(REBALANCE, Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        mock.get(LIFECYCLE, Some(&token)).await.status,
        StatusCode::NOT_FOUND
    );

    // The delay runs on the other process's clock: poll it, as an AEMM
    // harness does, until the notice appears.
    let action = loop {
        let reply = mock.get(INSTANCE_ACTION, Some(&token)).await;
        if reply.status == StatusCode::OK {
            break reply.json();
        }
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert!(
            spawned.elapsed() < Duration::from_secs(30),
            "no notice after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        spawned.elapsed() >= delay,
        "appeared after {:?}",
        spawned.elapsed()
    );
    assert_eq!(action["action"], "stop");
    let time = humantime::parse_rfc3339(action["time"].as_str().unwrap()).unwrap();
    // AEMM's behaviour, kept for its harnesses: a termination-time for a
    // stop notice too (EC2 serves it only when terminating).
    let termination = mock.get(TERMINATION_TIME, Some(&token)).await;
    assert_eq!(humantime::parse_rfc3339(termination.text()).unwrap(), time);
    mock.child.kill().await.unwrap();
}

#[tokio::test]
async fn the_aemm_asglifecycle_command_and_environment_variables() {
    let mut mock = Running::start(
        BIN,
        &["asglifecycle", "--port", "0"],
        &[("AEMM_ASG_TERMINATION_DELAY_SEC", "3600")],
    )
    .await;
    let token = mock.token().await;
    assert_eq!(mock.get(LIFECYCLE, Some(&token)).await.text(), "InService");
    assert_eq!(
        mock.get(INSTANCE_ACTION, Some(&token)).await.status,
        StatusCode::NOT_FOUND
    );
    mock.child.kill().await.unwrap();
}

/// Called `ec2-metadata-mock` (here a symlink), the binary is AEMM's root
/// command: every scenario, AEMM's defaults, `AEMM_*` variables.
#[cfg(unix)]
#[tokio::test]
async fn named_ec2_metadata_mock_it_is_aemms_root_command() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ec2-metadata-mock");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let mut mock = Running::start(
        link.to_str().unwrap(),
        &["--port", "0"],
        &[
            ("AEMM_SPOT_ACTION", "hibernate"),
            ("AEMM_EVENTS_CODE", "instance-stop"),
        ],
    )
    .await;
    let token = mock.token().await;
    let token = Some(token.as_str());
    let action = mock.get(INSTANCE_ACTION, token).await.json();
    assert_eq!(action["action"], "hibernate");
    // AEMM's two minutes and termination-time for a hibernation too (EC2:
    // neither).
    let notice_time = mock.get(REBALANCE, token).await.json()["noticeTime"].clone();
    let lead = humantime::parse_rfc3339(action["time"].as_str().unwrap())
        .unwrap()
        .duration_since(humantime::parse_rfc3339(notice_time.as_str().unwrap()).unwrap())
        .unwrap();
    assert_eq!(lead, Duration::from_secs(120));
    assert_eq!(
        mock.get(TERMINATION_TIME, token).await.text(),
        action["time"].as_str().unwrap()
    );
    // AEMM's ASG termination delay defaults to 0: Terminated at once.
    assert_eq!(mock.get(LIFECYCLE, token).await.text(), "Terminated");
    let scheduled = mock.get(SCHEDULED, token).await.json();
    assert_eq!(scheduled[0]["EventId"], "instance-event-1234567890abcdef0");
    assert_eq!(scheduled[0]["Code"], "instance-stop");
    assert_eq!(
        scheduled[0]["Description"],
        "The instance is scheduled for instance-stop"
    );
    assert_eq!(
        mock.get("/latest/meta-data/instance-id", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    mock.child.kill().await.unwrap();
}

#[tokio::test]
async fn bad_aemm_values_exit_2_naming_their_source() {
    for (args, env, needle) in [
        (
            &["events", "--code", "FOO"][..],
            &[][..],
            "\"FOO\" for --code",
        ),
        (&["spot", "-a", "explode"], &[], "terminate,hibernate,stop"),
        (
            &["spot"],
            &[("AEMM_MOCK_DELAY_SEC", "soon")],
            "AEMM_MOCK_DELAY_SEC",
        ),
        (&["spot", "--time", "noon"], &[], "RFC 3339"),
        (&["spot", "--bogus"], &[], "--bogus"),
        (&["aemm", "-n", "example.com"], &[], "--hostname"),
    ] {
        let output = run(args, env).await;
        assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(needle), "{args:?} {env:?}: {stderr}");
    }
    let output = run(&["spot", "--help"], &[]).await;
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.contains("--rebalance-rec-time") && help.contains("--mock-delay-sec"),
        "{help}"
    );
}
