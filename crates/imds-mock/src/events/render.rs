//! The event documents as IMDS lays them out.
//!
//! - `spot/instance-action` and `events/recommendations/rebalance`: one
//!   line, `{"action": "terminate", "time": "2026-12-02T10:04:05Z"}`, as
//!   AWS's documentation shows them.
//! - `events/maintenance/scheduled` and `.../history`: `[]` when empty,
//!   else the objects in IMDS's layout (see [`crate::json`]) inline in the
//!   array, `[ {\n  "NotBefore" : ...\n}, {\n ...\n} ]`, keys in the order
//!   of AWS's documented example.

use std::time::SystemTime;

use serde_json::Value;

use super::scenario::{ScheduledEventCode, ScheduledEventState, SpotAction};
use super::time::{format_event_date, format_rfc3339};
use crate::json;

/// `meta-data/spot/instance-action`.
pub(super) fn instance_action(action: SpotAction, time: SystemTime) -> String {
    format!(
        "{{\"action\": {}, \"time\": {}}}",
        Value::from(action.as_str()),
        Value::from(format_rfc3339(time))
    )
}

/// `meta-data/spot/termination-time`: the bare time.
pub(super) fn termination_time(time: SystemTime) -> String {
    format_rfc3339(time)
}

/// `meta-data/events/recommendations/rebalance`.
pub(super) fn rebalance(notice_time: SystemTime) -> String {
    format!(
        "{{\"noticeTime\": {}}}",
        Value::from(format_rfc3339(notice_time))
    )
}

/// One scheduled event as served.
#[derive(Debug)]
pub(super) struct MaintenanceEvent<'a> {
    pub(super) code: ScheduledEventCode,
    pub(super) state: ScheduledEventState,
    pub(super) event_id: &'a str,
    /// Before the `[Completed] ` / `[Canceled] ` prefix.
    pub(super) description: &'a str,
    pub(super) not_before: SystemTime,
    pub(super) not_after: Option<SystemTime>,
    pub(super) not_before_deadline: Option<SystemTime>,
}

impl MaintenanceEvent<'_> {
    /// The description with the prefix AWS adds once the event is over
    /// (not twice, if the configured description already has it).
    pub(super) fn served_description(&self) -> String {
        match self.state.description_prefix() {
            Some(prefix) if !self.description.starts_with(prefix) => {
                format!("{prefix}{}", self.description)
            }
            _ => self.description.to_owned(),
        }
    }

    fn render(&self) -> String {
        let mut fields = vec![
            ("NotBefore", Value::from(format_event_date(self.not_before))),
            ("Code", Value::from(self.code.as_str())),
            ("Description", Value::from(self.served_description())),
            ("EventId", Value::from(self.event_id)),
        ];
        if let Some(not_after) = self.not_after {
            fields.push(("NotAfter", Value::from(format_event_date(not_after))));
        }
        if let Some(deadline) = self.not_before_deadline {
            fields.push((
                "NotBeforeDeadline",
                Value::from(format_event_date(deadline)),
            ));
        }
        fields.push(("State", Value::from(self.state.as_str())));
        json::render_object(&fields)
    }
}

/// `meta-data/events/maintenance/scheduled` or `.../history`.
pub(super) fn maintenance_list(events: &[MaintenanceEvent<'_>]) -> String {
    if events.is_empty() {
        return "[]".to_owned();
    }
    let objects: Vec<String> = events.iter().map(MaintenanceEvent::render).collect();
    format!("[ {} ]", objects.join(", "))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn spot_and_rebalance_documents() {
        let time = at(1_796_205_845); // 2026-12-02T10:04:05Z
        let action = instance_action(SpotAction::Terminate, time);
        assert_eq!(
            action,
            r#"{"action": "terminate", "time": "2026-12-02T10:04:05Z"}"#
        );
        let parsed: Value = serde_json::from_str(&action).unwrap();
        assert_eq!(parsed["action"], "terminate");
        assert_eq!(termination_time(time), "2026-12-02T10:04:05Z");
        assert_eq!(rebalance(time), r#"{"noticeTime": "2026-12-02T10:04:05Z"}"#);
    }

    #[test]
    fn maintenance_lists_in_imds_layout() {
        assert_eq!(maintenance_list(&[]), "[]");
        let reboot = MaintenanceEvent {
            code: ScheduledEventCode::SystemReboot,
            state: ScheduledEventState::Active,
            event_id: "instance-event-0d59937288b749b32",
            description: "scheduled reboot",
            not_before: at(1_548_061_243),
            not_after: Some(at(1_548_062_243)),
            not_before_deadline: None,
        };
        assert_eq!(
            maintenance_list(&[reboot]),
            "[ {\n  \"NotBefore\" : \"21 Jan 2019 09:00:43 GMT\",\n  \"Code\" : \"system-reboot\",\n  \
             \"Description\" : \"scheduled reboot\",\n  \"EventId\" : \"instance-event-0d59937288b749b32\",\n  \
             \"NotAfter\" : \"21 Jan 2019 09:17:23 GMT\",\n  \"State\" : \"active\"\n} ]"
        );
        let canceled = |description| MaintenanceEvent {
            code: ScheduledEventCode::InstanceStop,
            state: ScheduledEventState::Canceled,
            event_id: "e-2",
            description,
            not_before: at(0),
            not_after: None,
            not_before_deadline: Some(at(86_400)),
        };
        let two = maintenance_list(&[canceled("stop"), canceled("[Canceled] stop")]);
        let parsed: Value = serde_json::from_str(&two).unwrap();
        for event in parsed.as_array().unwrap() {
            assert_eq!(event["Description"], "[Canceled] stop");
            assert_eq!(event["NotBeforeDeadline"], "2 Jan 1970 00:00:00 GMT");
            assert!(event.get("NotAfter").is_none());
        }
        assert!(two.starts_with("[ {\n") && two.contains("\n}, {\n") && two.ends_with("\n} ]"));
    }
}
