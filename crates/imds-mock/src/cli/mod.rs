//! Part of the `imds-mock` binary, not of the library: the event flags
//! (shorthand for the config's `events` object), the control API flag, and
//! the AEMM-compatible front ([`aemm`]).
//!
//! Times given on the command line become the config's JSON forms and go
//! through the library's own parser, so a flag and a config file accept
//! and refuse exactly the same values.

pub(crate) mod aemm;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Args;
use imds_mock::{
    Config, Events, RebalanceRecommendation, ScheduledEventCode, ScheduledEventState, SpotAction,
};
use serde_json::{Map, Value, json};

/// Event scenarios and the control API, on top of `--config`.
#[derive(Debug, Args)]
pub(crate) struct EventArgs {
    /// Serve the control API (JSON over HTTP, see the README) on ADDR:
    /// HOST:PORT, or a PORT on 127.0.0.1; port 0 picks a free one. Its URL
    /// is printed on a second stdout line, `control: http://...`.
    #[arg(long, value_name = "ADDR", value_parser = control_addr)]
    pub(crate) control: Option<SocketAddr>,
    /// A Spot interruption notice with this action (terminate, stop,
    /// hibernate); the --spot-* flags imply terminate.
    #[arg(long, value_name = "ACTION", value_parser = spot_action)]
    spot: Option<SpotAction>,
    /// The Spot notice appears this long after the start (30, 1.5, 30s, 2m).
    #[arg(long, value_name = "DURATION", value_parser = duration, conflicts_with = "spot_at")]
    spot_delay: Option<Duration>,
    /// The Spot notice appears at this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    spot_at: Option<String>,
    /// The Spot notice's `time` (default: its appearance + 2 minutes, or
    /// its appearance for hibernate: EC2 gives hibernation no warning).
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    spot_time: Option<String>,
    /// A rebalance recommendation (at once unless --rebalance-delay/-at).
    #[arg(long)]
    rebalance: bool,
    /// The rebalance recommendation appears this long after the start.
    #[arg(long, value_name = "DURATION", value_parser = duration, conflicts_with = "rebalance_at")]
    rebalance_delay: Option<Duration>,
    /// The rebalance recommendation appears at this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    rebalance_at: Option<String>,
    /// A scheduled event, CODE[:STATE] (instance-reboot, system-reboot,
    /// system-maintenance, instance-retirement, instance-stop; active,
    /// completed, canceled); repeatable. Details: --config.
    #[arg(long, value_name = "CODE[:STATE]", value_parser = scheduled_event)]
    scheduled_event: Vec<(ScheduledEventCode, ScheduledEventState)>,
    /// The Auto Scaling target lifecycle state (InService, Standby, ...).
    #[arg(long, value_name = "STATE")]
    asg_state: Option<String>,
    /// The lifecycle state turns Terminated this long after the start
    /// (implies --asg-state InService).
    #[arg(long, value_name = "DURATION", value_parser = duration, conflicts_with = "asg_terminate_at")]
    asg_terminate_after: Option<Duration>,
    /// The lifecycle state turns Terminated at this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    asg_terminate_at: Option<String>,
}

impl EventArgs {
    /// Adds the flags' scenarios to `config` (replacing the config file's
    /// Spot, rebalance and Auto Scaling scenarios if given, adding
    /// scheduled events).
    pub(crate) fn apply(&self, config: &mut Config) -> Result<(), String> {
        let mut events = Map::new();
        if self.spot.is_some()
            || self.spot_delay.is_some()
            || self.spot_at.is_some()
            || self.spot_time.is_some()
        {
            let mut spot = trigger(self.spot_delay, self.spot_at.as_deref(), "delay_secs", "at");
            spot.insert(
                "action".into(),
                json!(self.spot.unwrap_or_default().as_str()),
            );
            if let Some(time) = &self.spot_time {
                spot.insert("time".into(), json!(time));
            }
            events.insert("spot".into(), Value::Object(spot));
        }
        if self.rebalance || self.rebalance_delay.is_some() || self.rebalance_at.is_some() {
            let rebalance = trigger(
                self.rebalance_delay,
                self.rebalance_at.as_deref(),
                "delay_secs",
                "at",
            );
            events.insert("rebalance".into(), Value::Object(rebalance));
        }
        let scheduled: Vec<Value> = self
            .scheduled_event
            .iter()
            .map(|(code, state)| json!({"code": code.as_str(), "state": state.as_str()}))
            .collect();
        events.insert("scheduled".into(), Value::Array(scheduled));
        if self.asg_state.is_some()
            || self.asg_terminate_after.is_some()
            || self.asg_terminate_at.is_some()
        {
            let mut asg = trigger(
                self.asg_terminate_after,
                self.asg_terminate_at.as_deref(),
                "terminate_after_secs",
                "terminate_at",
            );
            if let Some(state) = &self.asg_state {
                asg.insert("state".into(), json!(state));
            }
            events.insert("autoscaling".into(), Value::Object(asg));
        }
        let flags: Events =
            serde_json::from_value(Value::Object(events)).map_err(|e| e.to_string())?;
        merge(&mut config.events, flags);
        config.validate().map_err(|e| e.to_string())
    }
}

/// Puts `from`'s scenarios over `into`'s; scheduled events add up.
pub(crate) fn merge(into: &mut Events, from: Events) {
    let Events {
        spot,
        rebalance,
        scheduled,
        autoscaling,
        ..
    } = from;
    if spot.is_some() {
        into.spot = spot;
    }
    if rebalance.is_some() {
        into.rebalance = rebalance;
    }
    into.scheduled.extend(scheduled);
    if autoscaling.is_some() {
        into.autoscaling = autoscaling;
    }
}

/// A trigger in the config's JSON form.
fn trigger(
    delay: Option<Duration>,
    at: Option<&str>,
    delay_key: &str,
    at_key: &str,
) -> Map<String, Value> {
    let mut object = Map::new();
    if let Some(delay) = delay {
        object.insert(delay_key.into(), json!(delay.as_secs_f64()));
    }
    if let Some(at) = at {
        object.insert(at_key.into(), json!(at));
    }
    object
}

/// `HOST:PORT`, or a port on 127.0.0.1.
pub(crate) fn control_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not HOST:PORT (127.0.0.1:9000, [::1]:9000) or a port"))
}

/// Seconds (`30`, `1.5`) or a humantime duration (`30s`, `2m`, `1h 30m`).
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration: give seconds (30, 1.5) or 30s, 2m, 1h");
    match text.parse::<f64>() {
        Ok(secs) => Duration::try_from_secs_f64(secs).map_err(|_| invalid()),
        Err(_) => humantime::parse_duration(text).map_err(|_| invalid()),
    }
}

/// An RFC 3339 time, checked by the library's parser (the config's JSON
/// form of a time is the only way in), and kept as written.
pub(crate) fn rfc3339(text: &str) -> Result<String, String> {
    serde_json::from_value::<RebalanceRecommendation>(json!({ "notice_time": text }))
        .map(|_| text.to_owned())
        .map_err(|error| error.to_string())
}

fn spot_action(text: &str) -> Result<SpotAction, String> {
    serde_json::from_value(json!(text))
        .map_err(|_| format!("{text:?} is not a Spot action: terminate, stop or hibernate"))
}

fn scheduled_event(text: &str) -> Result<(ScheduledEventCode, ScheduledEventState), String> {
    let (code, state) = text.split_once(':').unwrap_or((text, "active"));
    let code = ScheduledEventCode::parse(code).ok_or_else(|| {
        format!("{code:?} is not an event code: instance-reboot, system-reboot, system-maintenance, instance-retirement or instance-stop")
    })?;
    let state = ScheduledEventState::parse(state)
        .ok_or_else(|| format!("{state:?} is not an event state: active, completed or canceled"))?;
    Ok((code, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_parsers() {
        assert_eq!(duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert!(duration("-1").is_err() && duration("soon").is_err());
        assert_eq!(control_addr("9000"), Ok(([127, 0, 0, 1], 9000).into()));
        assert_eq!(control_addr("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert!(control_addr("localhost").is_err());
        assert!(rfc3339("2026-01-07T01:03:47Z").is_ok());
        assert!(rfc3339("2026-01-07").unwrap_err().contains("RFC 3339"));
        assert_eq!(
            scheduled_event("instance-stop:canceled"),
            Ok((
                ScheduledEventCode::InstanceStop,
                ScheduledEventState::Canceled
            ))
        );
        assert!(scheduled_event("reboot").is_err());
        assert!(scheduled_event("system-reboot:done").is_err());
    }
}
