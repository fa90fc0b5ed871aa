//! `--exec CMD`: runs a command for each change.

use std::io;
use std::process::{ExitStatus, Stdio};

use imds::events::Event;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Runs `sh -c command` for `event`: `json` (its JSON line) on its stdin,
/// `IMDS_EVENT_KIND` and `IMDS_EVENT_CHANGE` in its environment, its
/// stdout and stderr on this process's stderr (stdout carries JSON lines
/// only). Waits for it to exit.
pub async fn run(command: &str, event: &Event, json: &str) -> io::Result<ExitStatus> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("IMDS_EVENT_KIND", event.kind().name())
        .env("IMDS_EVENT_CHANGE", event.change())
        .stdin(Stdio::piped())
        .stdout(io::stderr())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin may exit first.
        match stdin.write_all(json.as_bytes()).await {
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => return Err(error),
            _ => {}
        }
    }
    child.wait().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use imds::events::{Change, TargetLifecycleState};

    #[tokio::test]
    async fn the_command_gets_the_event_on_stdin_and_its_kind_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let event = Event::AutoScaling(Change::Appeared {
            current: TargetLifecycleState::InService,
        });
        let command = format!(
            "{{ printf '%s %s ' \"$IMDS_EVENT_KIND\" \"$IMDS_EVENT_CHANGE\"; cat; }} > '{}'",
            out.display()
        );
        let status = run(&command, &event, "{\"json\":1}\n").await.unwrap();
        assert!(status.success());
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "autoscaling appeared {\"json\":1}\n"
        );
        let status = run("exit 3", &event, "{}\n").await.unwrap();
        assert_eq!(status.code(), Some(3));
        // A command that ignores a large stdin is no error.
        let big = "x".repeat(1 << 20);
        assert!(run("true", &event, &big).await.unwrap().success());
    }
}
