//! `imds events`'s flags and help.

use std::time::Duration;

use clap::Args as ClapArgs;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use imds::events::EventKind;

/// `imds events --help`, after the flags.
pub const HELP: &str = "\
Kinds, and the IMDS path each one polls (under meta-data/):
  spot         spot/instance-action                  a Spot interruption notice
  rebalance    events/recommendations/rebalance      a rebalance recommendation
  maintenance  events/maintenance/scheduled          scheduled reboots, stops, retirements
  autoscaling  autoscaling/target-lifecycle-state    InService, Terminated, ...

Without --watch: the state of each kind now, as one JSON document
(null or [] when there is none).

With --watch: one JSON line per change, flushed at once:
  {\"kind\":\"spot\",\"change\":\"appeared\",\"current\":{\"action\":\"terminate\",\"time\":\"...\"}}
  {\"kind\":\"maintenance\",\"change\":\"changed\",\"previous\":{...},\"current\":{...}}
  {\"kind\":\"autoscaling\",\"change\":\"gone\",\"previous\":\"InService\"}
The first poll reports what is already there (\"appeared\"). A failed poll is
reported on stderr and polling goes on (backing off up to 4 intervals); it
never reads as \"gone\".

--until KIND exits 0 at the first warning of that kind: a Spot notice or
rebalance recommendation that appears or changes, an active maintenance event
that appears or changes, an Auto Scaling state of Terminated or
Warmed:Terminated. Its kinds are watched too.

--exec CMD runs `sh -c CMD` for each change, one at a time, after printing
it: the JSON line on its stdin, IMDS_EVENT_KIND and IMDS_EVENT_CHANGE in its
environment, its output on stderr (stdout stays JSON lines). A failing CMD is
reported and watching goes on. CMD runs in a process group of its own; one
still running after --exec-timeout (60s unless given) is killed with that
group (the commands it started too, unless they left the group) and counts
as failed, so a hanging CMD never stops the watch.

Examples:
  imds events                                       the state now
  imds events --watch                               every change, every 5 s
  imds events --watch --until spot,autoscaling && drain-my-node
  imds events --watch --kinds maintenance --exec 'logger -t imds-events'
  imds events --watch --until spot --exec ./drain.sh --exec-timeout 110s

Exit status: 0 when --until's event is seen (or stdout is closed); 1 when
--exec's CMD fails (or is killed) for that event; 4 when IMDS is disabled.
With --exec, SIGINT (Ctrl-C), SIGTERM or SIGHUP kills the running CMD with
its group and exits 130, 143 or 129. Without --watch, as for every command.";

/// The flags of `imds events`.
#[derive(Debug, ClapArgs)]
pub struct EventsArgs {
    /// Watch for changes and print one JSON line each, until killed (or
    /// until --until's event).
    #[arg(long)]
    pub watch: bool,

    /// Poll every DURATION: seconds (`5`) or a duration (`2s`, `1m`), at
    /// least 1 s [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_interval, requires = "watch")]
    pub interval: Option<Duration>,

    /// Only these kinds, comma-separated [default: all].
    #[arg(long, value_name = "KIND,...", value_delimiter = ',', value_parser = kind_parser())]
    pub kinds: Vec<EventKind>,

    /// Exit 0 at the first warning of one of these kinds.
    #[arg(
        long,
        value_name = "KIND,...",
        value_delimiter = ',',
        value_parser = kind_parser(),
        requires = "watch"
    )]
    pub until: Vec<EventKind>,

    /// Run CMD with `sh -c` for each change, the change as JSON on its
    /// stdin and its kind in IMDS_EVENT_KIND.
    #[arg(long, value_name = "CMD", requires = "watch")]
    pub exec: Option<String>,

    /// Kill --exec's CMD, and its process group, when it runs longer than
    /// DURATION: seconds (`90`) or a duration (`30s`, `5m`) [default: 60s].
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = crate::cli::parse_timeout,
        requires = "exec"
    )]
    pub exec_timeout: Option<Duration>,
}

/// How long --exec's CMD may run when --exec-timeout is not given.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

impl EventsArgs {
    /// How long --exec's CMD may run: --exec-timeout, else 60 s.
    pub fn exec_timeout(&self) -> Duration {
        self.exec_timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT)
    }

    /// The kinds to poll: --kinds (all when not given) and --until's.
    pub fn watched(&self) -> Vec<EventKind> {
        if self.kinds.is_empty() {
            return EventKind::ALL.to_vec();
        }
        let mut kinds: Vec<EventKind> = self.kinds.iter().chain(&self.until).copied().collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// A kind by name; `--help` lists the names.
fn kind_parser() -> impl TypedValueParser<Value = EventKind> {
    PossibleValuesParser::new(EventKind::ALL.map(EventKind::name))
        .try_map(|name| name.parse::<EventKind>())
}

/// A duration as for `--timeout`, at least 1 s (IMDS throttles; AWS's
/// advice is 5 s).
fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = crate::cli::parse_timeout(text)?;
    if interval < imds::events::MIN_INTERVAL {
        return Err("the interval must be at least 1s".to_owned());
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Args, Command};
    use clap::Parser;

    fn events(argv: &[&str]) -> Result<EventsArgs, clap::Error> {
        let mut full = vec!["imds", "events"];
        full.extend_from_slice(argv);
        match Args::try_parse_from(full)?.command {
            Command::Events(args) => Ok(args),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags() {
        let args = events(&[]).unwrap();
        assert!(!args.watch);
        assert_eq!(args.watched(), EventKind::ALL);
        let args = events(&[
            "--watch",
            "--interval",
            "2s",
            "--kinds",
            "maintenance,spot",
            "--until",
            "autoscaling",
            "--exec",
            "cat",
        ])
        .unwrap();
        assert_eq!(args.interval, Some(Duration::from_secs(2)));
        assert_eq!(
            args.watched(),
            [
                EventKind::Spot,
                EventKind::Maintenance,
                EventKind::AutoScaling
            ]
        );
        assert_eq!(args.exec.as_deref(), Some("cat"));
        assert_eq!(args.exec_timeout(), Duration::from_secs(60));
        for (given, expected) in [
            ("500ms", Duration::from_millis(500)),
            ("90", Duration::from_secs(90)),
            ("0.5", Duration::from_millis(500)),
            ("5m", Duration::from_secs(300)),
        ] {
            let args = events(&["--watch", "--exec", "cat", "--exec-timeout", given]).unwrap();
            assert_eq!(args.exec_timeout, Some(expected), "{given}");
            assert_eq!(args.exec_timeout(), expected, "{given}");
        }
        assert_eq!(
            events(&["--watch", "--interval", "1"]).unwrap().interval,
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for argv in [
            &["--until", "spot"][..],
            &["--exec", "true"],
            &["--interval", "5s"],
            &["--watch", "--interval", "999ms"],
            &["--watch", "--interval", "0"],
            &["--kinds", "weather"],
            &["--kinds", "Spot"],
            &["--watch", "--until", ""],
            // --exec-timeout needs --exec, and a duration longer than zero.
            &["--watch", "--exec-timeout", "5s"],
            &["--exec-timeout", "5s"],
            &["--watch", "--exec", "true", "--exec-timeout", "0"],
            &["--watch", "--exec", "true", "--exec-timeout", "soon"],
            &["--watch", "--exec", "true", "--exec-timeout", "-1"],
            &["--watch", "--exec", "true", "--exec-timeout", ""],
            &["--watch", "--exec", "true", "--exec-timeout"],
        ] {
            let error = events(argv).map(|_| ()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn exec_timeout_needs_exec_and_a_duration() {
        use clap::error::ErrorKind;
        // Refused for the reason given, not as an unknown flag.
        for (argv, kind) in [
            (
                &["--watch", "--exec-timeout", "5s"][..],
                ErrorKind::MissingRequiredArgument,
            ),
            (
                &["--watch", "--exec", "true", "--exec-timeout", "soon"],
                ErrorKind::ValueValidation,
            ),
            (
                &["--watch", "--exec", "true", "--exec-timeout", "0s"],
                ErrorKind::ValueValidation,
            ),
        ] {
            let error = events(argv).map(|_| ()).unwrap_err();
            assert_eq!((error.kind(), error.exit_code()), (kind, 2), "{argv:?}");
            assert!(error.to_string().contains("--exec"), "{error}");
        }
    }
}
