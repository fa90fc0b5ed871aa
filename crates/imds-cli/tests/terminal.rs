//! The binary with stdout on a real terminal: util-linux `script` gives it a
//! pseudo-terminal. Binary values are refused there unless `--force`; text
//! gets a final newline so the prompt starts on its own line.

mod support;

use std::process::Command;

use imds_mock::{DEFAULT_USER_DATA, MockImds};
use support::Sandbox;

/// What the terminal showed (stdout and stderr together) and the exit code.
struct OnTerminal {
    code: i32,
    screen: Vec<u8>,
}

impl OnTerminal {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }
}

/// `imds --endpoint URL ARGS` on a pseudo-terminal, in the sandbox's
/// environment only; `None` when `script` is not installed.
fn on_terminal(sandbox: &Sandbox, url: &str, args: &[&str]) -> Option<OnTerminal> {
    if Command::new("script").arg("--version").output().is_err() {
        support::skip("util-linux `script` is not installed");
        return None;
    }
    let quote = |text: &str| {
        assert!(!text.contains('\''), "{text}");
        format!("'{text}'")
    };
    let mut command = vec![
        "env -i".to_owned(),
        format!("HOME={}", quote(sandbox.home().to_str().unwrap())),
        format!(
            "XDG_CACHE_HOME={}",
            quote(sandbox.cache_home().to_str().unwrap())
        ),
        format!(
            "AWS_CONFIG_FILE={}",
            quote(sandbox.config_file().to_str().unwrap())
        ),
        quote(env!("CARGO_BIN_EXE_imds")),
        "--endpoint".to_owned(),
        quote(url),
    ];
    command.extend(args.iter().map(|arg| quote(arg)));
    // -q: no banner; -e: the command's exit code; -c: run it; the typescript
    // goes nowhere, the screen to our stdout.
    let output = Command::new("script")
        .args(["-qec", &command.join(" "), "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "dumb")
        .output()
        .expect("script runs");
    Some(OnTerminal {
        code: output.status.code().expect("exited, not killed"),
        screen: output.stdout,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// `imds ARGS` on a pseudo-terminal against `mock`, from a blocking
/// thread (`script` waits for the binary, the mock needs the runtime).
async fn run_on_terminal(mock: &MockImds, args: &[&str]) -> Option<OnTerminal> {
    let url = mock.base_url();
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        on_terminal(&Sandbox::new(), &url, &args)
    })
    .await
    .unwrap()
}

/// Asserts that `run` refused to write binary `data`: exit 1, the reason
/// and the way out on the screen, not a byte of the data.
fn assert_refused(run: &OnTerminal, data: &[u8]) {
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.text().contains("is binary") && run.text().contains("--force"),
        "{}",
        run.text()
    );
    assert!(!contains(&run.screen, &data[..4]), "{}", run.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_user_data_is_refused_on_a_terminal() {
    let mock = MockImds::start_default().await.unwrap();
    let Some(run) = run_on_terminal(&mock, &["user-data"]).await else {
        return;
    };
    assert_refused(&run, DEFAULT_USER_DATA);
}

#[tokio::test(flavor = "multi_thread")]
async fn force_writes_binary_user_data_to_a_terminal() {
    let mock = MockImds::start_default().await.unwrap();
    let Some(run) = run_on_terminal(&mock, &["user-data", "--force"]).await else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.text());
    // The terminal turns "\n" into "\r\n"; the binary head passes as it is.
    assert!(
        contains(&run.screen, &DEFAULT_USER_DATA[..4]),
        "{}",
        run.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_refuses_a_binary_value_on_a_terminal_unless_forced() {
    let mock = MockImds::start_default().await.unwrap();
    let Some(run) = run_on_terminal(&mock, &["get", "user-data"]).await else {
        return;
    };
    assert_refused(&run, DEFAULT_USER_DATA);
    let run = run_on_terminal(&mock, &["get", "--force", "user-data"])
        .await
        .unwrap();
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(
        contains(&run.screen, &DEFAULT_USER_DATA[..4]),
        "{}",
        run.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn text_on_a_terminal_ends_with_a_newline() {
    let mock = MockImds::start_default().await.unwrap();
    let Some(run) = run_on_terminal(&mock, &["get", "meta-data/instance-id"]).await else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        run.text(),
        format!("{}\r\n", imds_mock::defaults::INSTANCE_ID)
    );
}
