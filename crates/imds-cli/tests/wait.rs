//! `imds wait`, run as the built binary against a mock IMDS that starts
//! late, a path that appears late, and a token refused once.
//!
//! The tests learn that `imds wait` has polled and found IMDS not ready
//! from its `-v` log on stderr ("IMDS is not ready yet"), and only then
//! start the mock or add the path: no sleep decides the order.

mod support;

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use http::StatusCode;
use imds_mock::MockImds;
use support::{REFUSED, Sandbox};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};

/// What `imds -v` logs after each attempt that found IMDS not ready.
const NOT_READY_YET: &str = "IMDS is not ready yet";

/// `imds -v wait ARGS` against `endpoint`, running, with its stderr lines.
fn spawn_wait(
    sandbox: &Sandbox,
    endpoint: &str,
    args: &[&str],
) -> (Child, Lines<BufReader<ChildStderr>>) {
    let mut child = sandbox
        .command(env!("CARGO_BIN_EXE_imds"), endpoint)
        .args(["-v", "wait", "--endpoint", endpoint])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, stderr)
}

/// Reads stderr until `imds` says it found IMDS not ready.
async fn until_not_ready(stderr: &mut Lines<BufReader<ChildStderr>>) {
    while let Some(line) = stderr.next_line().await.unwrap() {
        if line.contains(NOT_READY_YET) {
            return;
        }
    }
    panic!("imds ended without finding IMDS not ready");
}

/// Lets `child` finish (reading the rest of its stderr); fails the test
/// if that takes more than 30 s.
async fn finish(
    mut child: Child,
    mut stderr: Lines<BufReader<ChildStderr>>,
) -> (ExitStatus, String) {
    let rest = async {
        let mut text = String::new();
        while let Some(line) = stderr.next_line().await.unwrap() {
            text.push_str(&line);
            text.push('\n');
        }
        text
    };
    let (status, rest) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(child.wait(), rest)
    })
    .await
    .expect("imds wait ends");
    (status.unwrap(), rest)
}

#[tokio::test]
async fn ready_exits_0_and_prints_nothing() {
    let mock = MockImds::start_default().await.unwrap();
    let run = Sandbox::new().run(&mock.base_url(), &["wait"]).await.ok();
    assert!(run.stdout.is_empty());
    assert_eq!(mock.stats().path_count("/latest/meta-data/instance-id"), 1);
}

#[tokio::test]
async fn waits_for_a_mock_started_late() {
    // A free port: nothing listens there until the mock starts.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    drop(listener);
    let endpoint = format!("http://{addr}");
    let sandbox = Sandbox::new();
    let (child, mut stderr) = spawn_wait(&sandbox, &endpoint, &["--timeout", "30"]);
    until_not_ready(&mut stderr).await;
    let mock = imds_mock::Config::default().start_on(addr).await.unwrap();
    let (status, log) = finish(child, stderr).await;
    assert!(status.success(), "{status:?}\n{log}");
    assert_eq!(mock.stats().path_count("/latest/meta-data/instance-id"), 1);
}

#[tokio::test]
async fn waits_for_a_path_that_appears_late() {
    let mock = MockImds::start_default().await.unwrap();
    let late = "meta-data/network/interfaces/macs/0e:00:00:00:00:02/local-ipv4s";
    let sandbox = Sandbox::new();
    let (child, mut stderr) = spawn_wait(
        &sandbox,
        &mock.base_url(),
        &["--timeout", "30", "--path", late],
    );
    until_not_ready(&mut stderr).await;
    let polls = mock.stats().path_count(&format!("/latest/{late}"));
    assert!(polls >= 1, "a 404 first");
    mock.set_metadata(late, "10.0.1.5");
    let (status, log) = finish(child, stderr).await;
    assert!(status.success(), "{status:?}\n{log}");
    assert!(mock.stats().path_count(&format!("/latest/{late}")) > polls);
}

#[tokio::test]
async fn rides_through_a_token_refused_once() {
    let mock = MockImds::start_default().await.unwrap();
    let sandbox = Sandbox::new();
    // A token in the cache, as from a run before.
    sandbox
        .run(&mock.base_url(), &["get", "meta-data/ami-id"])
        .await
        .ok();
    assert_eq!(mock.stats().token_puts, 1);
    // IMDS refuses it, as at first boot.
    mock.fail_next(1, StatusCode::UNAUTHORIZED);
    sandbox.run(&mock.base_url(), &["wait"]).await.ok();
    let stats = mock.stats();
    assert_eq!(stats.fault_statuses.get(&401), Some(&1));
    assert_eq!(stats.token_puts, 2, "a new token after the 401");
}

#[tokio::test]
async fn not_ready_in_time_exits_4() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(REFUSED, &["wait", "--timeout", "300ms"])
        .await
        .fails(4);
    assert!(
        run.stderr.starts_with(
            "imds: IMDS did not serve /latest/meta-data/instance-id within 300ms: could not reach IMDS"
        ),
        "{run:?}"
    );
    let mock = MockImds::start_default().await.unwrap();
    let run = sandbox
        .run(
            &mock.base_url(),
            &[
                "wait",
                "--timeout",
                "0.3",
                "--path",
                "meta-data/nope",
                "--path",
                "meta-data/mac",
            ],
        )
        .await
        .fails(4);
    assert!(
        run.stderr.starts_with(
            "imds: IMDS did not serve /latest/meta-data/nope within 300ms: IMDS answered 404 Not Found"
        ),
        "{run:?}"
    );
    // Disabled is disabled: no waiting.
    sandbox
        .run_with(
            &mock.base_url(),
            &["wait", "--timeout", "30"],
            &[("AWS_EC2_METADATA_DISABLED", "true")],
        )
        .await
        .fails(4);
}

#[tokio::test]
async fn the_timeout_of_each_attempt_stays_the_settings() {
    let mock = MockImds::start_default().await.unwrap();
    // No token request is ever answered: each attempt lasts its timeout.
    mock.set_token_put_unanswered(true);
    let run = Sandbox::new()
        .run_with(
            &mock.base_url(),
            &["wait", "--timeout", "2"],
            &[("AWS_METADATA_SERVICE_TIMEOUT", "0.2")],
        )
        .await
        .fails(4);
    assert!(run.stderr.contains("within 2s"), "{run:?}");
    // Attempts of 0.2 s and pauses of at most 0.2, 0.4 and 0.8 s: at least
    // three in 2 s. Had --timeout (2 s) been each attempt's, one.
    assert!(mock.stats().token_requests >= 3, "{:?}", mock.stats());
}
