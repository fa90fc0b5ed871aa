//! The AEMM-compatible front: amazon-ec2-metadata-mock's command line
//! (its subcommands `spot`, `events`, `asglifecycle`, its flags, its
//! `AEMM_*` environment variables and the CLI keys of its JSON config
//! file) mapped onto imds-mock's scenarios, so that a harness written for
//! AEMM runs against imds-mock unchanged, with IMDSv2 always required.
//!
//! Taken when the binary is called `ec2-metadata-mock` or
//! `amazon-ec2-metadata-mock` (a symlink or a copy), or when its first
//! argument is `aemm` (AEMM's root command: every scenario) or one of
//! AEMM's subcommands or their aliases. Precedence as in AEMM (viper):
//! flag, then environment variable, then config file, then default. The
//! mapping and the differences are in the crate's README.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{ArgAction, Parser, Subcommand};
use imds_mock::{Config, ScheduledEventCode, ScheduledEventState, SpotAction};
use serde_json::{Map, Value, json};

/// AEMM's port.
const DEFAULT_PORT: u16 = 1338;
/// AEMM's Spot notice `time`: two minutes ahead, whatever the action.
const AEMM_LEAD_SECS: u64 = 120;
/// AEMM's `EventId` for its one scheduled event.
const EVENT_ID: &str = "instance-event-1234567890abcdef0";
/// AEMM's default window: `NotAfter` 7 days and `NotBeforeDeadline` 9
/// days after the start.
const NOT_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);
const NOT_BEFORE_DEADLINE: Duration = Duration::from_secs(9 * 24 * 3600);

/// The subcommand names (and aliases) that select this front.
const SUBCOMMANDS: [&str; 7] = [
    "spot",
    "events",
    "se",
    "scheduledevents",
    "asglifecycle",
    "autoscaling",
    "asg",
];

/// amazon-ec2-metadata-mock's command line, served by imds-mock (IMDSv2
/// always required).
///
/// Environment variables (below flags, above the config file):
/// AEMM_SERVER_HOSTNAME,
/// AEMM_SERVER_PORT, AEMM_CONFIG_FILE, AEMM_MOCK_DELAY_SEC,
/// AEMM_MOCK_TRIGGER_TIME, AEMM_MOCK_IP_COUNT, AEMM_IMDSV2,
/// AEMM_REBALANCE_DELAY_SEC, AEMM_REBALANCE_TRIGGER_TIME,
/// AEMM_ASG_TERMINATION_DELAY_SEC, AEMM_ASG_TERMINATION_TRIGGER_TIME,
/// AEMM_SPOT_ACTION, AEMM_SPOT_TIME, AEMM_SPOT_REBALANCE_REC_TIME,
/// AEMM_EVENTS_CODE, AEMM_EVENTS_STATE, AEMM_EVENTS_NOT_BEFORE,
/// AEMM_EVENTS_NOT_AFTER, AEMM_EVENTS_NOT_BEFORE_DEADLINE.
#[derive(Debug, Parser)]
#[command(name = "ec2-metadata-mock", version, disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The address to listen on (default 127.0.0.1; AEMM's is 0.0.0.0).
    #[arg(short = 'n', long, global = true, value_name = "HOST")]
    hostname: Option<String>,
    /// The port (default 1338; 0 picks a free one).
    #[arg(short = 'p', long, global = true)]
    port: Option<String>,
    /// An AEMM JSON config file (its CLI keys; metadata overrides are ignored).
    #[arg(short = 'c', long = "config-file", global = true, value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Accepted and ignored (imds-mock saves no config).
    #[arg(short = 's', long, global = true)]
    save_config_to_file: bool,
    /// Accepted and ignored (imds-mock reads its config once).
    #[arg(short = 'w', long, global = true)]
    watch_config_file: bool,
    /// Spot notice and scheduled event delay in seconds from the start.
    #[arg(
        short = 'd',
        long,
        global = true,
        allow_negative_numbers = true,
        value_name = "SECS"
    )]
    mock_delay_sec: Option<String>,
    /// Spot notice and scheduled event time (RFC 3339; wins over the delay).
    #[arg(long, global = true, value_name = "TIME")]
    mock_trigger_time: Option<String>,
    /// How many client IPs see the scenarios; on loopback all clients share
    /// one, so only 0 (none) makes a difference (default 2).
    #[arg(
        short = 'x',
        long,
        global = true,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    mock_ip_count: Option<String>,
    /// Accepted: imds-mock always requires IMDSv2.
    #[arg(short = 'I', long, global = true)]
    imdsv2: bool,
    /// Rebalance recommendation delay in seconds from the start.
    #[arg(
        long,
        global = true,
        allow_negative_numbers = true,
        value_name = "SECS"
    )]
    rebalance_delay_sec: Option<String>,
    /// Rebalance recommendation time (RFC 3339; wins over the delay).
    #[arg(long, global = true, value_name = "TIME")]
    rebalance_trigger_time: Option<String>,
    /// Seconds from the start until the ASG lifecycle state turns Terminated.
    #[arg(
        long,
        global = true,
        allow_negative_numbers = true,
        value_name = "SECS"
    )]
    asg_termination_delay_sec: Option<String>,
    /// When the ASG lifecycle state turns Terminated (RFC 3339).
    #[arg(long, global = true, value_name = "TIME")]
    asg_termination_trigger_time: Option<String>,
    /// imds-mock's control API on ADDR (HOST:PORT or a port on 127.0.0.1).
    #[arg(long, global = true, value_name = "ADDR", value_parser = super::control_addr)]
    control: Option<SocketAddr>,
    /// Print the version.
    #[arg(short = 'v', long, action = ArgAction::Version)]
    version: Option<bool>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mock EC2 Spot interruption notice (and rebalance recommendation)
    Spot(SpotArgs),
    /// Mock EC2 maintenance events
    #[command(visible_aliases = ["se", "scheduledevents"])]
    Events(EventsArgs),
    /// Mock ASG target-lifecycle-state changes from InService to Terminated
    #[command(visible_aliases = ["autoscaling", "asg"])]
    Asglifecycle,
}

#[derive(Debug, Default, clap::Args)]
struct SpotArgs {
    /// terminate (default), stop or hibernate.
    #[arg(short = 'a', long)]
    action: Option<String>,
    /// The notice's time, RFC 3339 (default: its appearance + 2 minutes).
    #[arg(short = 't', long)]
    time: Option<String>,
    /// The rebalance recommendation's noticeTime, RFC 3339.
    #[arg(short = 'r', long)]
    rebalance_rec_time: Option<String>,
}

#[derive(Debug, Default, clap::Args)]
struct EventsArgs {
    /// The event code (default system-reboot).
    #[arg(short = 'o', long)]
    code: Option<String>,
    /// active (default), completed or canceled.
    #[arg(short = 't', long)]
    state: Option<String>,
    /// NotBefore, RFC 3339 (default: the start).
    #[arg(short = 'b', long)]
    not_before: Option<String>,
    /// NotAfter, RFC 3339 (default: the start + 7 days).
    #[arg(short = 'a', long)]
    not_after: Option<String>,
    /// NotBeforeDeadline, RFC 3339 (default: the start + 9 days).
    #[arg(short = 'l', long)]
    not_before_deadline: Option<String>,
}

/// What to serve, where.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) config: Config,
    pub(crate) addr: SocketAddr,
    pub(crate) control: Option<SocketAddr>,
    /// Lines for stderr (flags accepted but ignored, ...).
    pub(crate) notes: Vec<String>,
}

/// Whether `argv` asks for the AEMM front, and if so the arguments for
/// it (`aemm` dropped).
pub(crate) fn arguments(argv: &[OsString]) -> Option<Vec<OsString>> {
    let name = argv
        .first()
        .and_then(|arg0| Path::new(arg0).file_stem())
        .and_then(|stem| stem.to_str());
    if matches!(name, Some("ec2-metadata-mock" | "amazon-ec2-metadata-mock")) {
        return Some(argv.to_vec());
    }
    match argv.get(1).and_then(|arg| arg.to_str()) {
        Some("aemm") => Some(
            argv.iter()
                .enumerate()
                .filter(|&(i, _)| i != 1)
                .map(|(_, arg)| arg.clone())
                .collect(),
        ),
        Some(first) if SUBCOMMANDS.contains(&first) => Some(argv.to_vec()),
        _ => None,
    }
}

/// Why the command line was not taken.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Help, version or a usage error: clap prints it and exits (2 for
    /// errors).
    Clap(clap::Error),
    /// A bad value (from a flag, the environment or the config file).
    Invalid(String),
}

/// Parses AEMM's command line, reading `AEMM_*` through `env`; AEMM's
/// default event window counts from `start`.
pub(crate) fn parse(
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<String>,
    start: SystemTime,
) -> Result<Launch, Refused> {
    let cli = Cli::try_parse_from(args).map_err(Refused::Clap)?;
    launch(cli, env, start).map_err(Refused::Invalid)
}

/// Where each setting comes from, in AEMM's (viper's) precedence.
struct Sources<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: Option<(PathBuf, Value)>,
}

impl Sources<'_> {
    /// The first of: the flag, `AEMM_<KEY>`, the config file's key, with
    /// a description of where it came from. Empty values count as unset.
    fn get(&self, flag: Option<&str>, flag_name: &str, key: &str) -> Option<(String, String)> {
        if let Some(value) = flag {
            return Some((flag_name.to_owned(), value.to_owned()));
        }
        let var = format!("AEMM_{}", key.replace(['-', '.'], "_").to_uppercase());
        if let Some(value) = (self.env)(&var).filter(|v| !v.is_empty()) {
            return Some((var, value));
        }
        let (path, file) = self.file.as_ref()?;
        let value = key
            .split('.')
            .try_fold(file, |value, part| value.get(part))?;
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(bool) => bool.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then(|| (format!("{key} in {}", path.display()), text))
    }

    fn parsed<T>(
        &self,
        flag: Option<&str>,
        flag_name: &str,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        self.get(flag, flag_name, key)
            .map(|(source, text)| {
                parse(&text)
                    .map_err(|error| format!("invalid value {text:?} for {source}: {error}"))
            })
            .transpose()
    }
}

fn launch(
    cli: Cli,
    env: &dyn Fn(&str) -> Option<String>,
    start: SystemTime,
) -> Result<Launch, String> {
    let mut notes = Vec::new();
    let mut sources = Sources { env, file: None };
    let config_file = match (
        &cli.config_file,
        env("AEMM_CONFIG_FILE").filter(|v| !v.is_empty()),
    ) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(path)) => Some(PathBuf::from(path)),
        (None, None) => None,
    };
    if let Some(path) = config_file {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read config file {}: {error}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|error| format!("invalid config file {}: {error}", path.display()))?;
        for ignored in ["metadata", "dynamic", "userdata"] {
            if value.get(ignored).is_some() {
                notes.push(format!(
                    "{}: `{ignored}` overrides are not supported by imds-mock's AEMM front; ignored (use imds-mock --config)",
                    path.display()
                ));
            }
        }
        sources.file = Some((path, value));
    }
    let s = &sources;
    for (set, name, key) in [
        (
            cli.save_config_to_file,
            "--save-config-to-file",
            "save-config-to-file",
        ),
        (
            cli.watch_config_file,
            "--watch-config-file",
            "watch-config-file",
        ),
    ] {
        let set = set
            || s.parsed(None, name, key, parse_bool)
                .ok()
                .flatten()
                .unwrap_or(false);
        if set {
            notes.push(format!("{name} is accepted and ignored"));
        }
    }

    let host = s
        .parsed(
            cli.hostname.as_deref(),
            "--hostname",
            "server.hostname",
            parse_host,
        )?
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let port = s
        .parsed(cli.port.as_deref(), "--port", "server.port", |t| {
            t.parse::<u16>()
                .map_err(|_| "not a port (0..=65535)".to_owned())
        })?
        .unwrap_or(DEFAULT_PORT);
    let delay = s.parsed(
        cli.mock_delay_sec.as_deref(),
        "--mock-delay-sec",
        "mock-delay-sec",
        parse_secs,
    )?;
    let trigger_time = s.parsed(
        cli.mock_trigger_time.as_deref(),
        "--mock-trigger-time",
        "mock-trigger-time",
        super::rfc3339,
    )?;
    let ip_count = s.parsed(
        cli.mock_ip_count.as_deref(),
        "--mock-ip-count",
        "mock-ip-count",
        |t| t.parse::<i64>().map_err(|_| "not an integer".to_owned()),
    )?;
    let rebalance_delay = s.parsed(
        cli.rebalance_delay_sec.as_deref(),
        "--rebalance-delay-sec",
        "rebalance-delay-sec",
        parse_secs,
    )?;
    let rebalance_time = s.parsed(
        cli.rebalance_trigger_time.as_deref(),
        "--rebalance-trigger-time",
        "rebalance-trigger-time",
        super::rfc3339,
    )?;
    let asg_delay = s.parsed(
        cli.asg_termination_delay_sec.as_deref(),
        "--asg-termination-delay-sec",
        "asg-termination-delay-sec",
        parse_secs,
    )?;
    let asg_time = s.parsed(
        cli.asg_termination_trigger_time.as_deref(),
        "--asg-termination-trigger-time",
        "asg-termination-trigger-time",
        super::rfc3339,
    )?;

    let (spot_args, events_args) = match &cli.command {
        Some(Command::Spot(args)) => (Some(args), None),
        Some(Command::Events(args)) => (None, Some(args)),
        _ => (None, None),
    };
    let spot_action = s
        .parsed(
            spot_args.and_then(|a| a.action.as_deref()),
            "--action",
            "spot.action",
            parse_action,
        )?
        .unwrap_or_default();
    let spot_time = s.parsed(
        spot_args.and_then(|a| a.time.as_deref()),
        "--time",
        "spot.time",
        super::rfc3339,
    )?;
    let rebalance_notice = s.parsed(
        spot_args.and_then(|a| a.rebalance_rec_time.as_deref()),
        "--rebalance-rec-time",
        "spot.rebalance-rec-time",
        super::rfc3339,
    )?;
    let code = s
        .parsed(
            events_args.and_then(|a| a.code.as_deref()),
            "--code",
            "events.code",
            parse_code,
        )?
        .unwrap_or(ScheduledEventCode::SystemReboot);
    let state = s
        .parsed(
            events_args.and_then(|a| a.state.as_deref()),
            "--state",
            "events.state",
            parse_state,
        )?
        .unwrap_or_default();
    let not_before = s.parsed(
        events_args.and_then(|a| a.not_before.as_deref()),
        "--not-before",
        "events.not-before",
        super::rfc3339,
    )?;
    let not_after = s.parsed(
        events_args.and_then(|a| a.not_after.as_deref()),
        "--not-after",
        "events.not-after",
        super::rfc3339,
    )?;
    let not_before_deadline = s.parsed(
        events_args.and_then(|a| a.not_before_deadline.as_deref()),
        "--not-before-deadline",
        "events.not-before-deadline",
        super::rfc3339,
    )?;

    let (spot_on, scheduled_on, asg_on) = match cli.command {
        None => (true, true, true),
        Some(Command::Spot(_)) => (true, false, false),
        Some(Command::Events(_)) => (false, true, false),
        Some(Command::Asglifecycle) => (false, false, true),
    };
    // AEMM serves its scenarios to the first N client IPs; on loopback
    // there is one, so only a count of 0 turns them off.
    let served = ip_count.is_none_or(|n| n != 0);

    let mut events = Map::new();
    let when = |delay: Option<u64>, at: Option<String>, delay_key: &str, at_key: &str| match at {
        Some(at) => json!({ at_key: at }),
        None => json!({ delay_key: delay.unwrap_or(0) }),
    };
    if served && spot_on {
        let mut spot = when(delay, trigger_time.clone(), "delay_secs", "at");
        spot["action"] = json!(spot_action.as_str());
        // AEMM's, not EC2's: two minutes' warning and a termination-time
        // whatever the action (EC2: none for a hibernation, and no
        // termination-time unless terminating). A harness written for
        // AEMM may poll termination-time after `spot -a stop`.
        match spot_time {
            Some(time) => spot["time"] = json!(time),
            None => spot["lead_secs"] = json!(AEMM_LEAD_SECS),
        }
        spot["termination_time_for_any_action"] = json!(true);
        events.insert("spot".into(), spot);
        let mut rebalance = when(rebalance_delay, rebalance_time, "delay_secs", "at");
        if let Some(notice) = rebalance_notice {
            rebalance["notice_time"] = json!(notice);
        }
        events.insert("rebalance".into(), rebalance);
    }
    if served && scheduled_on {
        let at = |offset: Duration| format_rfc3339(start + offset);
        let mut event = when(delay, trigger_time, "delay_secs", "at");
        event["code"] = json!(code.as_str());
        event["state"] = json!(state.as_str());
        event["event_id"] = json!(EVENT_ID);
        event["description"] = json!(format!("The instance is scheduled for {code}"));
        event["not_before"] = json!(not_before.unwrap_or_else(|| at(Duration::ZERO)));
        event["not_after"] = json!(not_after.unwrap_or_else(|| at(NOT_AFTER)));
        event["not_before_deadline"] =
            json!(not_before_deadline.unwrap_or_else(|| at(NOT_BEFORE_DEADLINE)));
        events.insert("scheduled".into(), json!([event]));
    }
    if served && asg_on {
        let asg = when(asg_delay, asg_time, "terminate_after_secs", "terminate_at");
        events.insert("autoscaling".into(), asg);
    }

    let mut config = Config::default();
    config.imdsv1_allowed = false;
    config.events = serde_json::from_value(Value::Object(events)).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())?;
    Ok(Launch {
        config,
        addr: SocketAddr::new(host, port),
        control: cli.control,
        notes,
    })
}

/// `time` in RFC 3339 (`super::rfc3339` checks a time given as text).
fn format_rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// AEMM's delays are int64 seconds; a negative one is no delay.
fn parse_secs(text: &str) -> Result<u64, String> {
    text.parse::<i64>()
        .map(|secs| secs.max(0).unsigned_abs())
        .map_err(|_| "not a whole number of seconds".to_owned())
}

/// Go's `strconv.ParseBool`, which viper uses.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("not a boolean".to_owned()),
    }
}

fn parse_host(text: &str) -> Result<IpAddr, String> {
    if text == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.parse()
        .map_err(|_| "give an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost".to_owned())
}

fn parse_action(text: &str) -> Result<SpotAction, String> {
    serde_json::from_value(json!(text))
        .map_err(|_| "allowed value(s): terminate,hibernate,stop".to_owned())
}

fn parse_code(text: &str) -> Result<ScheduledEventCode, String> {
    ScheduledEventCode::parse(text).ok_or_else(|| {
        "allowed value(s): instance-reboot,system-reboot,system-maintenance,instance-retirement,instance-stop"
            .to_owned()
    })
}

fn parse_state(text: &str) -> Result<ScheduledEventState, String> {
    ScheduledEventState::parse(text)
        .ok_or_else(|| "allowed value(s): active,completed,canceled".to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::UNIX_EPOCH;

    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Launch, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |name: &str| env.get(name).cloned();
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let args = arguments(&argv(args)).expect("an AEMM invocation");
        match parse(args, &lookup, start) {
            Err(Refused::Clap(error)) => panic!("{error}"),
            Err(Refused::Invalid(message)) => Err(message),
            Ok(launch) => Ok(launch),
        }
    }

    fn events(launch: &Launch) -> Value {
        serde_json::to_value(&launch.config.events).unwrap()
    }

    #[test]
    fn selected_by_name_or_subcommand() {
        assert!(arguments(&argv(&["/usr/bin/ec2-metadata-mock"])).is_some());
        assert!(arguments(&argv(&["amazon-ec2-metadata-mock.exe", "-p", "1"])).is_some());
        assert!(arguments(&argv(&["imds-mock", "spot", "-d", "1"])).is_some());
        assert!(arguments(&argv(&["imds-mock", "se"])).is_some());
        assert_eq!(
            arguments(&argv(&["imds-mock", "aemm", "-d", "1"])),
            Some(argv(&["imds-mock", "-d", "1"]))
        );
        assert!(arguments(&argv(&["imds-mock", "--port", "0"])).is_none());
        assert!(arguments(&argv(&["imds-mock"])).is_none());
    }

    #[test]
    fn spot_with_a_delay() {
        let launch = run(
            &["imds-mock", "spot", "-d", "5", "-a", "stop", "-p", "0"],
            &[],
        )
        .unwrap();
        assert_eq!(launch.addr, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert!(!launch.config.imdsv1_allowed);
        assert_eq!(
            events(&launch),
            json!({
                "spot": {"action": "stop", "delay_secs": 5, "lead_secs": 120,
                         "termination_time_for_any_action": true},
                "rebalance": {"delay_secs": 0},
            })
        );
    }

    #[test]
    fn spot_keeps_aemms_two_minutes_and_termination_time_for_every_action() {
        let launch = run(
            &[
                "imds-mock",
                "spot",
                "-a",
                "hibernate",
                "-t",
                "2027-01-01T00:02:00Z",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            events(&launch)["spot"],
            json!({"action": "hibernate", "delay_secs": 0, "time": "2027-01-01T00:02:00Z",
                   "termination_time_for_any_action": true})
        );
    }

    #[test]
    fn the_root_command_serves_every_scenario_with_aemm_defaults() {
        let launch = run(&["ec2-metadata-mock"], &[]).unwrap();
        assert_eq!(launch.addr.port(), 1338);
        let events = events(&launch);
        assert_eq!(events["spot"]["action"], "terminate");
        assert_eq!(
            events["autoscaling"],
            json!({"state": "InService", "terminate_after_secs": 0})
        );
        let event = &events["scheduled"][0];
        assert_eq!(event["code"], "system-reboot");
        assert_eq!(event["event_id"], EVENT_ID);
        assert_eq!(event["not_before"], "2027-01-15T08:00:00Z");
        assert_eq!(event["not_after"], "2027-01-22T08:00:00Z");
        assert_eq!(event["not_before_deadline"], "2027-01-24T08:00:00Z");
    }

    #[test]
    fn flags_beat_env_which_beats_the_config_file() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            r#"{"mock-delay-sec": 7, "spot": {"action": "hibernate"}, "server": {"port": "1400"}, "metadata": {}}"#,
        )
        .unwrap();
        let path = file.path().to_str().unwrap();
        let launch = run(&["ec2-metadata-mock", "spot", "-c", path], &[]).unwrap();
        assert_eq!(launch.addr.port(), 1400);
        assert_eq!(
            events(&launch)["spot"],
            json!({"action": "hibernate", "delay_secs": 7, "lead_secs": 120,
                   "termination_time_for_any_action": true})
        );
        assert!(
            launch.notes.iter().any(|n| n.contains("`metadata`")),
            "{:?}",
            launch.notes
        );

        let env = [
            ("AEMM_MOCK_DELAY_SEC", "8"),
            ("AEMM_SPOT_ACTION", "stop"),
            ("AEMM_CONFIG_FILE", path),
        ];
        let launch = run(&["ec2-metadata-mock", "spot"], &env).unwrap();
        assert_eq!(
            events(&launch)["spot"],
            json!({"action": "stop", "delay_secs": 8, "lead_secs": 120,
                   "termination_time_for_any_action": true})
        );
        let launch = run(&["ec2-metadata-mock", "spot", "-d", "9"], &env).unwrap();
        assert_eq!(events(&launch)["spot"]["delay_secs"], 9);
    }

    #[test]
    fn subcommands_select_their_scenarios() {
        let launch = run(
            &[
                "imds-mock",
                "events",
                "-o",
                "instance-stop",
                "-t",
                "canceled",
                "-x",
                "1",
            ],
            &[],
        )
        .unwrap();
        let events = events(&launch);
        assert!(events.get("spot").is_none() && events.get("autoscaling").is_none());
        assert_eq!(events["scheduled"][0]["state"], "canceled");
        let launch = run(
            &["imds-mock", "asg", "--asg-termination-delay-sec", "30"],
            &[],
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&launch.config.events).unwrap(),
            json!({"autoscaling": {"state": "InService", "terminate_after_secs": 30}})
        );
        let launch = run(&["ec2-metadata-mock", "-x", "0"], &[]).unwrap();
        assert_eq!(
            serde_json::to_value(&launch.config.events).unwrap(),
            json!({})
        );
    }

    #[test]
    fn trigger_times_win_over_delays() {
        let launch = run(
            &[
                "ec2-metadata-mock",
                "spot",
                "-d",
                "5",
                "--mock-trigger-time",
                "2027-01-01T00:00:00Z",
            ],
            &[("AEMM_REBALANCE_TRIGGER_TIME", "2027-01-01T00:00:05Z")],
        )
        .unwrap();
        let events = events(&launch);
        assert_eq!(
            events["spot"],
            json!({"action": "terminate", "at": "2027-01-01T00:00:00Z", "lead_secs": 120,
                   "termination_time_for_any_action": true})
        );
        assert_eq!(events["rebalance"], json!({"at": "2027-01-01T00:00:05Z"}));
    }

    #[test]
    fn bad_values_say_where_they_came_from() {
        let error = run(&["imds-mock", "events", "--code", "FOO"], &[]).unwrap_err();
        assert!(
            error.contains("\"FOO\" for --code") && error.contains("system-reboot"),
            "{error}"
        );
        let error = run(&["imds-mock", "spot"], &[("AEMM_SPOT_ACTION", "explode")]).unwrap_err();
        assert!(
            error.contains("AEMM_SPOT_ACTION") && error.contains("terminate"),
            "{error}"
        );
        let error = run(&["imds-mock", "spot", "-t", "noon"], &[]).unwrap_err();
        assert!(
            error.contains("--time") && error.contains("RFC 3339"),
            "{error}"
        );
        let error = run(&["imds-mock", "spot", "-p", "http"], &[]).unwrap_err();
        assert!(error.contains("--port"), "{error}");
        let error = run(&["ec2-metadata-mock", "-c", "/nonexistent/aemm.json"], &[]).unwrap_err();
        assert!(error.contains("cannot read config file"), "{error}");
    }
}
