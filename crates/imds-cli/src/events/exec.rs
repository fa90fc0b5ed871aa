//! `--exec CMD`: runs a command for each change, for at most
//! `--exec-timeout`.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use imds::events::Event;
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use super::stop::Stopped;

/// How long a killed command has to be reaped before the watch goes on
/// without it (tokio then reaps it when it dies). SIGKILL is not caught;
/// only a process stuck in the kernel takes longer.
const REAP_PATIENCE: Duration = Duration::from_secs(5);

/// How a command ended.
#[derive(Debug)]
pub enum Outcome {
    /// It exited (or a signal not ours ended it).
    Exited(ExitStatus),
    /// It ran longer than the timeout and was killed, with its process
    /// group.
    TimedOut,
    /// A signal stopped the watch while it ran: it was killed, with its
    /// process group.
    Stopped(Stopped),
}

/// Runs `sh -c command` for `event`: `json` (its JSON line) on its stdin,
/// `IMDS_EVENT_KIND` and `IMDS_EVENT_CHANGE` in its environment, its
/// stdout and stderr on this process's stderr (stdout carries JSON lines
/// only). Waits for it to exit, for at most `timeout` and until `stop`
/// resolves: then it is killed, with the processes of its process group
/// (see [`run_in_group`]).
pub async fn run(
    command: &str,
    event: &Event,
    json: &str,
    timeout: Duration,
    stop: impl Future<Output = Stopped>,
) -> io::Result<Outcome> {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .env("IMDS_EVENT_KIND", event.kind().name())
        .env("IMDS_EVENT_CHANGE", event.change())
        .stdout(io::stderr())
        .stderr(Stdio::inherit());
    run_in_group(sh, json, timeout, stop).await
}

/// Spawns `command` in a new process group (the group's ID is its process
/// ID), writes `json` to its stdin and closes it, and waits for it to
/// exit. When it has not exited after `timeout` (the write included: a
/// command that reads no stdin does not hold the watch either), SIGKILL
/// goes to its whole group, so that what it started (`sleep` under `sh`)
/// dies too, unless it moved to another group or session; then it is
/// reaped.
///
/// Its own group also keeps a terminal's Ctrl-C (sent to the foreground
/// group) from reaching it: `stop` stands for it, and kills it the same
/// way.
async fn run_in_group(
    mut command: Command,
    json: &str,
    timeout: Duration,
    stop: impl Future<Output = Stopped>,
) -> io::Result<Outcome> {
    let mut child = command
        .stdin(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    // Its copies of the child's stdio (a test's pipe) are closed here.
    drop(command);
    let stdin = child.stdin.take();
    let ran = tokio::time::timeout(timeout, async {
        if let Some(mut stdin) = stdin {
            // A command that does not read its stdin may exit first.
            match stdin.write_all(json.as_bytes()).await {
                Err(error) if error.kind() != io::ErrorKind::BrokenPipe => return Err(error),
                _ => {}
            }
        } // Closed: EOF for the command.
        child.wait().await
    });
    let outcome = tokio::select! {
        ran = ran => match ran {
            Ok(status) => return status.map(Outcome::Exited),
            Err(_elapsed) => Outcome::TimedOut,
        },
        stopped = stop => Outcome::Stopped(stopped),
    };
    kill_group(&mut child);
    // Reaped here; should SIGKILL not end it within REAP_PATIENCE, the
    // child is dropped and tokio reaps it once it dies.
    let _ = tokio::time::timeout(REAP_PATIENCE, child.wait()).await;
    Ok(outcome)
}

/// SIGKILL to `child`'s process group, and to `child` itself as well (in
/// case the group's failed). Called before `child` is reaped, so that its
/// group ID still names its group (a zombie keeps it) and no other.
fn kill_group(child: &mut Child) {
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    if let Some(group) = group {
        // Fails only when nothing of the group is left to kill.
        let _ = kill_process_group(group, Signal::KILL);
    }
    // Already dead: not an error worth telling.
    let _ = child.start_kill();
}

#[cfg(test)]
mod tests {
    use super::*;
    use imds::events::{Change, TargetLifecycleState};
    use std::future::pending;
    use std::os::fd::OwnedFd;
    use tokio::io::AsyncReadExt;
    use tokio::time::Instant;

    /// A guard against a hang, not a delay: nothing waits for it to pass.
    const PATIENCE: Duration = Duration::from_secs(20);

    fn event() -> Event {
        Event::AutoScaling(Change::Appeared {
            current: TargetLifecycleState::InService,
        })
    }

    /// Whether `kill -0 PID` finds process `pid` (a zombie included).
    async fn exists(pid: u32) -> bool {
        Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .await
            .unwrap()
            .success()
    }

    #[tokio::test]
    async fn the_command_gets_the_event_on_stdin_and_its_kind_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let event = event();
        let command = format!(
            "{{ printf '%s %s ' \"$IMDS_EVENT_KIND\" \"$IMDS_EVENT_CHANGE\"; cat; }} > '{}'",
            out.display()
        );
        let timeout = Duration::from_secs(60);
        let outcome = run(&command, &event, "{\"json\":1}\n", timeout, pending()).await;
        assert!(
            matches!(outcome, Ok(Outcome::Exited(status)) if status.success()),
            "{outcome:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "autoscaling appeared {\"json\":1}\n"
        );
        let outcome = run("exit 3", &event, "{}\n", timeout, pending()).await;
        assert!(
            matches!(outcome, Ok(Outcome::Exited(status)) if status.code() == Some(3)),
            "{outcome:?}"
        );
        // A command that ignores a large stdin is no error.
        let big = "x".repeat(1 << 20);
        let outcome = run("true", &event, &big, timeout, pending()).await;
        assert!(
            matches!(outcome, Ok(Outcome::Exited(status)) if status.success()),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed_and_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // `exec`: the process killed is the one that wrote its PID.
        let command = format!("echo $$ > '{}'; exec sleep 30", pid_file.display());
        let start = Instant::now();
        let outcome = run(
            &command,
            &event(),
            "{}\n",
            Duration::from_millis(300),
            pending(),
        )
        .await;
        let took = start.elapsed();
        assert!(matches!(outcome, Ok(Outcome::TimedOut)), "{outcome:?}");
        assert!(took < PATIENCE, "took {took:?}, not killed at its timeout");
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .expect("the command ran before its timeout")
            .trim()
            .parse()
            .unwrap();
        // Killed and reaped (a zombie would still be found).
        assert!(!exists(pid).await, "process {pid} is still there");
    }

    #[tokio::test]
    async fn a_command_that_reads_no_stdin_cannot_outlive_its_timeout() {
        // 1 MiB fills the pipe: the write blocks, under the same timeout.
        let big = "x".repeat(1 << 20);
        let start = Instant::now();
        let outcome = run(
            "sleep 30",
            &event(),
            &big,
            Duration::from_millis(300),
            pending(),
        )
        .await;
        assert!(matches!(outcome, Ok(Outcome::TimedOut)), "{outcome:?}");
        assert!(start.elapsed() < PATIENCE);
    }

    #[tokio::test]
    async fn the_commands_a_timed_out_command_started_are_killed_too() {
        // The command's stdout is a pipe read here: every process holding
        // its write end (`sh` and the `sleep` it started, in the
        // background) must have died for the read to end.
        let (reader, writer) = std::io::pipe().unwrap();
        let mut reader =
            tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).expect("a pipe");
        let mut sh = Command::new("sh");
        sh.args(["-c", "sleep 30 & echo $$ $!; wait"])
            .stdout(writer)
            .stderr(Stdio::null());
        let start = Instant::now();
        let outcome = run_in_group(sh, "", Duration::from_millis(300), pending()).await;
        assert!(matches!(outcome, Ok(Outcome::TimedOut)), "{outcome:?}");
        assert!(start.elapsed() < PATIENCE);
        // `sleep` never closes its stdout: the end of the pipe is its exit
        // (its file descriptors are closed as it dies). Were `sh` alone
        // killed, it would hold the pipe for 30 s, past PATIENCE. Its
        // zombie is init's (or a subreaper's) to reap, so `kill -0` cannot
        // tell.
        let mut output = String::new();
        tokio::time::timeout(PATIENCE, reader.read_to_string(&mut output))
            .await
            .expect("the sleep the command started was killed too")
            .unwrap();
        let pids: Vec<u32> = output
            .split_whitespace()
            .map(|pid| pid.parse().unwrap())
            .collect();
        let &[sh_pid, sleep_pid] = &pids[..] else {
            panic!("{output:?}")
        };
        assert_ne!(sh_pid, sleep_pid);
        assert!(!exists(sh_pid).await, "sh ({sh_pid}) was killed and reaped");
    }

    #[tokio::test]
    async fn a_stop_kills_the_command_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // The command says "up" on a pipe read here once its PID is
        // written; the stop comes then, long before the timeout.
        let (reader, writer) = std::io::pipe().unwrap();
        let mut reader =
            tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).expect("a pipe");
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!(
                "echo $$ > '{}'; echo up; exec sleep 30",
                pid_file.display()
            ))
            .stdout(writer)
            .stderr(Stdio::null());
        let stopped = Stopped {
            name: "SIGTERM",
            code: 143,
        };
        let stop = async move {
            let mut line = [0u8; 3];
            reader.read_exact(&mut line).await.unwrap();
            assert_eq!(&line, b"up\n");
            stopped
        };
        let start = Instant::now();
        let outcome = run_in_group(sh, "", Duration::from_secs(3600), stop).await;
        assert!(
            matches!(outcome, Ok(Outcome::Stopped(s)) if s == stopped),
            "{outcome:?}"
        );
        assert!(start.elapsed() < PATIENCE);
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!exists(pid).await, "process {pid} is still there");
    }
}
