//! `imds events`, run as the built binary against a mock IMDS changed
//! while it polls. Each scenario takes any [`EventSource`] and runs twice:
//! against the in-process mock, and against the `imds-mock` binary driven
//! through its HTTP control API only.

#[path = "support/mock_binary.rs"]
mod mock_binary;
mod support;
#[path = "support/watch.rs"]
mod watch;

use serde_json::{Value, json};
use support::Sandbox;
use watch::{EventSource, Watching};

/// The Spot notice's `time`, fixed so that lines can be compared whole.
const TIME: &str = "2026-12-02T10:04:05Z";

fn spot(action: &str) -> Value {
    json!({"action": action, "time": TIME})
}

/// The scheduled event the scenarios use, its window opening at
/// `not_before` (RFC 3339; IMDS writes `21 Jan 2026 09:00:43 GMT`).
fn retirement(not_before: &str) -> Value {
    json!({"code": "instance-retirement", "description": "retiring",
           "event_id": "instance-event-1", "not_before": not_before})
}

fn in_service() -> Value {
    json!({"state": "InService"})
}

/// `imds --endpoint URL events --watch --interval 1s ARGS` against
/// `mock`, running in `sandbox` with `env` and `PATH` (for `--exec`'s
/// `sh`: the sandbox clears the environment).
fn watch(
    sandbox: &Sandbox,
    mock: &impl EventSource,
    args: &[&str],
    env: &[(&str, &str)],
) -> Watching {
    let mut argv = vec!["events", "--watch", "--interval", "1s"];
    argv.extend_from_slice(args);
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let mut env = env.to_vec();
    env.push(("PATH", &path));
    Watching::spawn(sandbox, &mock.base_url(), &argv, &env)
}

// ---- scenarios, for any mock ----------------------------------------------------

/// `imds events`: every kind's state now, in one document.
pub async fn prints_the_state_now(mock: &impl EventSource) {
    mock.set_spot(spot("terminate")).await;
    mock.set_autoscaling(in_service()).await;
    mock.add_scheduled(retirement("2026-01-21T09:00:43Z")).await;
    let sandbox = Sandbox::new();
    let run = sandbox.run(&mock.base_url(), &["events"]).await.ok();
    assert_eq!(
        run.json(),
        json!({
            "spot": {"action": "terminate", "time": TIME},
            "rebalance": null,
            "maintenance": [{
                "Code": "instance-retirement", "Description": "retiring",
                "EventId": "instance-event-1", "NotBefore": "21 Jan 2026 09:00:43 GMT",
                "State": "active",
            }],
            "autoscaling": "InService",
        })
    );
    let run = sandbox
        .run(
            &mock.base_url(),
            &["events", "--kinds", "autoscaling,rebalance"],
        )
        .await
        .ok();
    assert_eq!(
        run.stdout_text(),
        "{\n  \"rebalance\": null,\n  \"autoscaling\": \"InService\"\n}\n"
    );
    mock.fail_next(100).await;
    let run = sandbox
        .run(&mock.base_url(), &["--attempts", "1", "events"])
        .await
        .fails(1);
    assert!(run.stderr.contains("503"), "{run:?}");
}

/// `--watch`: one line per change, at once, exactly once (each change is
/// made after the line of the one before, so a repeat would come first);
/// errors on stderr, polling on.
pub async fn watch_prints_each_change_once(mock: &impl EventSource) {
    mock.set_autoscaling(in_service()).await;
    let sandbox = Sandbox::new();
    let mut watching = watch(&sandbox, mock, &["--attempts", "1"], &[]);
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "autoscaling", "change": "appeared", "current": "InService"})
    );
    mock.set_spot(spot("terminate")).await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "spot", "change": "appeared", "current": spot("terminate")})
    );
    mock.add_scheduled(retirement("2026-01-21T09:00:43Z")).await;
    let line = watching.next_json().await;
    assert_eq!(
        (&line["kind"], &line["change"]),
        (&json!("maintenance"), &json!("appeared"))
    );
    assert_eq!(line["current"]["NotBefore"], "21 Jan 2026 09:00:43 GMT");
    // Rescheduled: the same EventId, another window.
    mock.add_scheduled(retirement("2026-01-28T09:00:43Z")).await;
    let line = watching.next_json().await;
    assert_eq!(line["change"], "changed");
    assert_eq!(line["previous"]["NotBefore"], "21 Jan 2026 09:00:43 GMT");
    assert_eq!(line["current"]["NotBefore"], "28 Jan 2026 09:00:43 GMT");
    // Canceled: it leaves `scheduled` (for `history`).
    mock.set_scheduled_state("instance-event-1", "canceled")
        .await;
    let line = watching.next_json().await;
    assert_eq!(
        (&line["kind"], &line["change"]),
        (&json!("maintenance"), &json!("gone"))
    );
    assert_eq!(line["previous"]["State"], "active");

    // A burst of 503s: reported on stderr, no line, no false "gone". The
    // next change comes after the burst, and its line first: a "gone"
    // for the Spot notice or the ASG state, still there, would come
    // before it.
    mock.fail_next(8).await;
    mock.set_rebalance(json!({"notice_time": "2026-12-02T10:02:05Z"}))
        .await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "rebalance", "change": "appeared",
               "current": {"noticeTime": "2026-12-02T10:02:05Z"}})
    );
    mock.withdraw_spot().await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "spot", "change": "gone", "previous": spot("terminate")})
    );
    mock.set_autoscaling(json!({"state": "Standby"})).await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "autoscaling", "change": "changed",
               "previous": "InService", "current": "Standby"})
    );
    assert!(watching.running());
    let (rest, stderr) = watching.kill().await;
    assert_eq!(rest, Vec::<String>::new(), "no line twice");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "the 503s were reported");
    for line in lines {
        assert!(line.starts_with("imds: IMDS answered 503"), "{stderr}");
    }
    // The token it polled with (from its cache) is not among them.
    let cached = std::fs::read_dir(sandbox.token_dir())
        .unwrap()
        .next()
        .expect("a cached token")
        .unwrap();
    let cached: Value =
        serde_json::from_str(&std::fs::read_to_string(cached.path()).unwrap()).unwrap();
    let token = cached["token"].as_str().unwrap();
    assert!(token.len() > 20 && !stderr.contains(token));
}

/// `--until`: exit 0 at the first warning of those kinds, not before.
pub async fn until_exits_at_the_first_warning(mock: &impl EventSource) {
    mock.set_autoscaling(in_service()).await;
    let sandbox = Sandbox::new();
    let mut watching = watch(
        &sandbox,
        mock,
        &["--kinds", "rebalance", "--until", "spot,autoscaling"],
        &[],
    );
    // InService is no warning; a rebalance recommendation is not --until's.
    assert_eq!(watching.next_json().await["current"], "InService");
    mock.set_rebalance(json!({"notice_time": "2026-12-02T10:02:05Z"}))
        .await;
    assert_eq!(watching.next_json().await["kind"], "rebalance");
    assert!(watching.running());
    mock.set_autoscaling(json!({"state": "Terminated"})).await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "autoscaling", "change": "changed",
               "previous": "InService", "current": "Terminated"})
    );
    let exit = watching.exit().await;
    assert_eq!(exit.code, 0, "{exit:?}");
    assert_eq!(exit.rest, Vec::<String>::new());
    assert_eq!(exit.stderr, "");
}

/// `--until spot`: exit 0 when the Spot notice appears (whatever its
/// action), after the other kinds' lines.
pub async fn until_spot_exits_when_the_notice_appears(mock: &impl EventSource) {
    mock.add_scheduled(retirement("2026-01-21T09:00:43Z")).await;
    let sandbox = Sandbox::new();
    let mut watching = watch(&sandbox, mock, &["--until", "spot"], &[]);
    // A warning, but not of --until's kind.
    assert_eq!(watching.next_json().await["kind"], "maintenance");
    assert!(watching.running());
    mock.set_spot(spot("stop")).await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "spot", "change": "appeared", "current": spot("stop")})
    );
    let exit = watching.exit().await;
    assert_eq!(exit.code, 0, "{exit:?}");
    assert_eq!(exit.rest, Vec::<String>::new());
    assert_eq!(exit.stderr, "");
}

/// `--exec`: the command per change, in order, with the change on stdin
/// and its kind in the environment; its output kept off stdout.
pub async fn exec_runs_a_command_per_change(mock: &impl EventSource) {
    let sandbox = Sandbox::new();
    let log = sandbox.home().join("events.log");
    let log_text = log.display().to_string();
    let mut watching = watch(
        &sandbox,
        mock,
        &[
            "--until",
            "spot",
            "--exec",
            r#"printf '%s %s ' "$IMDS_EVENT_KIND" "$IMDS_EVENT_CHANGE" >> "$LOG"; cat >> "$LOG"; echo ran"#,
        ],
        &[("LOG", &log_text)],
    );
    mock.add_scheduled(retirement("2026-01-21T09:00:43Z")).await;
    let first = watching.next_line().await;
    mock.set_spot(spot("terminate")).await;
    let second = watching.next_line().await;
    let exit = watching.exit().await;
    assert_eq!(exit.code, 0, "{exit:?}");
    assert_eq!(
        exit.stderr, "ran\nran\n",
        "the command's stdout went to stderr"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("maintenance appeared {first}\nspot appeared {second}\n")
    );
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second["current"], spot("terminate"));
}

/// `--exec` failing: reported, watching goes on; failing for `--until`'s
/// event, exit 1.
pub async fn a_failing_exec_is_reported(mock: &impl EventSource) {
    mock.set_autoscaling(in_service()).await;
    let sandbox = Sandbox::new();
    let mut watching = watch(
        &sandbox,
        mock,
        &["--until", "spot", "--exec", "exit 7"],
        &[],
    );
    assert_eq!(watching.next_json().await["kind"], "autoscaling");
    mock.set_spot(spot("terminate")).await;
    assert_eq!(watching.next_json().await["kind"], "spot");
    let exit = watching.exit().await;
    assert_eq!(exit.code, 1, "{exit:?}");
    let lines: Vec<&str> = exit.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "imds: --exec's command exited with exit status: 7 (event: autoscaling appeared)",
            "imds: --exec's command exited with exit status: 7 (event: spot appeared)",
            "imds: --exec's command failed for the spot event --until waited for",
        ]
    );
}

/// `--exec-timeout`: a command still running is killed (with the `sleep`
/// it started: else it would hold imds's stderr open and `exit` would
/// find no end to it), reported, counted as failed, and watching goes on.
pub async fn a_hanging_exec_is_killed(mock: &impl EventSource) {
    mock.set_autoscaling(in_service()).await;
    let sandbox = Sandbox::new();
    let mut watching = watch(
        &sandbox,
        mock,
        &[
            "--until",
            "spot",
            "--exec",
            "sleep 1000",
            "--exec-timeout",
            "1s",
        ],
        &[],
    );
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "autoscaling", "change": "appeared", "current": "InService"})
    );
    // Made while the first command hangs: seen once it is killed.
    mock.set_spot(spot("terminate")).await;
    assert_eq!(
        watching.next_json().await,
        json!({"kind": "spot", "change": "appeared", "current": spot("terminate")})
    );
    let exit = watching.exit().await;
    assert_eq!(exit.code, 1, "{exit:?}");
    assert_eq!(exit.rest, Vec::<String>::new());
    let killed = "imds: --exec's command was killed after running for 1s; \
                  raise --exec-timeout to give it longer";
    let lines: Vec<&str> = exit.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            &format!("{killed} (event: autoscaling appeared)")[..],
            &format!("{killed} (event: spot appeared)"),
            "imds: --exec's command failed for the spot event --until waited for",
        ]
    );
}

/// A closed stdout ends the watch, successfully.
pub async fn a_closed_stdout_ends_the_watch(mock: &impl EventSource) {
    mock.set_autoscaling(in_service()).await;
    let sandbox = Sandbox::new();
    let mut watching = watch(&sandbox, mock, &[], &[]);
    watching.next_line().await;
    watching.close_stdout();
    mock.set_autoscaling(json!({"state": "Standby"})).await;
    let exit = watching.exit().await;
    assert_eq!(exit.code, 0, "{exit:?}");
    assert_eq!(exit.stderr, "");
}

/// Each scenario as a test against the in-process mock (`in_process::`)
/// and against the mock binary (`binary::`).
macro_rules! against_both_mocks {
    ($($test:ident: $scenario:ident;)*) => {
        mod in_process {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$scenario(&imds_mock::MockImds::start_default().await.unwrap()).await;
                }
            )*
        }

        mod binary {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$scenario(&crate::mock_binary::MockBinary::start(&[]).await).await;
                }
            )*
        }
    };
}

against_both_mocks! {
    events_prints_the_state_now: prints_the_state_now;
    events_watch_prints_each_change_once: watch_prints_each_change_once;
    events_watch_until_exits_at_the_first_warning: until_exits_at_the_first_warning;
    events_watch_until_spot_exits_when_the_notice_appears: until_spot_exits_when_the_notice_appears;
    events_watch_exec_runs_a_command_per_change: exec_runs_a_command_per_change;
    events_watch_exec_failing_is_reported: a_failing_exec_is_reported;
    events_watch_exec_hanging_is_killed_after_its_timeout: a_hanging_exec_is_killed;
    events_watch_ends_when_stdout_closes: a_closed_stdout_ends_the_watch;
}

/// Sends `signal` (`TERM`, `INT`) to process `pid`.
async fn send(signal: &str, pid: u32) {
    let status = tokio::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

#[tokio::test]
async fn events_watch_exec_stopped_by_a_signal_kills_the_command_first() {
    let mock = imds_mock::MockImds::start_default().await.unwrap();
    mock.set_autoscaling(serde_json::from_value(in_service()).unwrap());
    let sandbox = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    // The command writes its PID into a FIFO read here: the signal is sent
    // once it runs (in its own process group, out of reach of a terminal's
    // Ctrl-C).
    let fifo = dir.path().join("started");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Read-write, so that reading waits for the line rather than seeing
    // the end of a FIFO nobody has opened for writing yet.
    let started = tokio::net::unix::pipe::OpenOptions::new()
        .read_write(true)
        .open_receiver(&fifo)
        .unwrap();
    let command = format!("echo $$ > '{}'; exec sleep 1000", fifo.display());
    let mut watching = watch(&sandbox, &mock, &["--exec", &command], &[]);
    assert_eq!(watching.next_json().await["kind"], "autoscaling");
    let mut pid = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(started), &mut pid)
        .await
        .unwrap();
    let hook: u32 = pid.trim().parse().unwrap();
    send("TERM", watching.pid()).await;
    let exit = watching.exit().await;
    assert_eq!(exit.code, 143, "{exit:?}");
    assert_eq!(
        exit.stderr,
        "imds: stopped by SIGTERM; --exec's command was killed with its process group\n"
    );
    let alive = std::process::Command::new("kill")
        .args(["-0", &hook.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !alive.success(),
        "the command ({hook}) was killed and reaped"
    );

    // A Ctrl-C (SIGINT) ends the watch the same way (whether `true` is
    // still running or not).
    let mut watching = watch(&sandbox, &mock, &["--exec", "true"], &[]);
    assert_eq!(watching.next_json().await["kind"], "autoscaling");
    send("INT", watching.pid()).await;
    let exit = watching.exit().await;
    assert_eq!(exit.code, 130, "{exit:?}");
    assert!(
        exit.stderr.starts_with("imds: stopped by SIGINT"),
        "{exit:?}"
    );
}

#[tokio::test]
async fn events_watch_on_a_disabled_imds_exits_4_at_once() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .run_raw(
            support::REFUSED,
            &["events", "--watch"],
            &[("AWS_EC2_METADATA_DISABLED", "true")],
        )
        .await
        .fails(4);
    assert!(run.stderr.contains("IMDS is disabled"), "{run:?}");
}

#[tokio::test]
async fn events_help_names_the_kinds_and_the_exit_status() {
    let run = Sandbox::new()
        .run_raw(support::REFUSED, &["events", "--help"], &[])
        .await
        .ok();
    let help = run.stdout_text();
    for expected in [
        "spot         spot/instance-action",
        "autoscaling  autoscaling/target-lifecycle-state",
        "[possible values: spot, rebalance, maintenance, autoscaling]",
        "Exit status: 0 when --until's event is seen",
    ] {
        assert!(help.contains(expected), "{expected:?} in {help}");
    }
}
