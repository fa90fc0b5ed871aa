//! The event documents: rebalance recommendation, scheduled maintenance,
//! Auto Scaling target lifecycle state. (The Spot notice is
//! [`SpotInstanceAction`](crate::document::SpotInstanceAction).)
//!
//! Values IMDS may extend (maintenance codes and states, lifecycle
//! states) are enums with an `Other` variant that keeps an unknown value as
//! written: a new value never makes a document fail to parse. Unknown JSON
//! fields are ignored.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::time::EventTime;

/// An enum of the known values of a text field, with `Other` for the rest.
macro_rules! known_values {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A value this version does not know, as written. Parsing
            /// never gives `Other` for a known value.
            Other(String),
        }

        impl $name {
            /// The value as IMDS writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(Self::from(text.as_str()))
            }
        }
    };
}

/// `meta-data/events/recommendations/rebalance`: EC2 recommends moving work
/// off this Spot instance, which is at elevated risk of interruption.
///
/// ```
/// let body = br#"{"noticeTime": "2026-12-02T10:02:05Z"}"#;
/// let notice: imds::events::RebalanceRecommendation = serde_json::from_slice(body)?;
/// assert!(notice.notice_time.time().is_some());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RebalanceRecommendation {
    /// When the recommendation was made.
    pub notice_time: EventTime,
}

impl RebalanceRecommendation {
    /// A recommendation made at `notice_time`.
    pub fn new(notice_time: EventTime) -> Self {
        Self { notice_time }
    }
}

known_values! {
    /// What a scheduled maintenance event does to the instance.
    pub enum MaintenanceCode {
        /// `instance-reboot`.
        InstanceReboot = "instance-reboot",
        /// `system-reboot`.
        SystemReboot = "system-reboot",
        /// `system-maintenance`.
        SystemMaintenance = "system-maintenance",
        /// `instance-retirement`.
        InstanceRetirement = "instance-retirement",
        /// `instance-stop`.
        InstanceStop = "instance-stop",
    }
}

known_values! {
    /// Where a scheduled maintenance event stands.
    pub enum MaintenanceState {
        /// `active`: scheduled, not yet done.
        Active = "active",
        /// `completed`.
        Completed = "completed",
        /// `canceled`.
        Canceled = "canceled",
    }
}

known_values! {
    /// `meta-data/autoscaling/target-lifecycle-state`: the Auto Scaling
    /// lifecycle state the instance is moving to.
    ///
    /// ```
    /// use imds::events::TargetLifecycleState;
    ///
    /// assert_eq!(TargetLifecycleState::from("Warmed:Running"), TargetLifecycleState::WarmedRunning);
    /// assert!(TargetLifecycleState::from("Terminated").is_terminating());
    /// assert_eq!(TargetLifecycleState::from("New").as_str(), "New");
    /// ```
    pub enum TargetLifecycleState {
        /// `InService`.
        InService = "InService",
        /// `Terminated`: the group is terminating the instance.
        Terminated = "Terminated",
        /// `Detached`.
        Detached = "Detached",
        /// `Standby`.
        Standby = "Standby",
        /// `Warmed:Hibernated`.
        WarmedHibernated = "Warmed:Hibernated",
        /// `Warmed:Running`.
        WarmedRunning = "Warmed:Running",
        /// `Warmed:Stopped`.
        WarmedStopped = "Warmed:Stopped",
        /// `Warmed:Terminated`: a warm pool instance is being terminated.
        WarmedTerminated = "Warmed:Terminated",
    }
}

impl TargetLifecycleState {
    /// Whether the instance is on its way out: `Terminated` or
    /// `Warmed:Terminated`.
    pub fn is_terminating(&self) -> bool {
        matches!(self, Self::Terminated | Self::WarmedTerminated)
    }

    /// The state in the text IMDS serves (surrounding whitespace ignored).
    pub(crate) fn parse(text: &str) -> Self {
        Self::from(text.trim())
    }
}

/// One entry of `meta-data/events/maintenance/scheduled` (or `history`):
/// a reboot, stop or retirement EC2 has scheduled for the instance.
///
/// ```
/// use imds::events::{MaintenanceCode, MaintenanceEvent, MaintenanceState};
///
/// let body = br#"[{
///   "NotBefore": "21 Jan 2026 09:00:43 GMT", "Code": "system-reboot",
///   "Description": "scheduled reboot", "EventId": "instance-event-0d59937288b749b32",
///   "NotAfter": "21 Jan 2026 09:17:23 GMT", "State": "active"
/// }]"#;
/// let events: Vec<MaintenanceEvent> = serde_json::from_slice(body)?;
/// assert_eq!(events[0].code, MaintenanceCode::SystemReboot);
/// assert_eq!(events[0].state, MaintenanceState::Active);
/// assert!(events[0].not_before.time().is_some());
/// assert_eq!(events[0].not_before_deadline, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct MaintenanceEvent {
    /// What the event does.
    pub code: MaintenanceCode,
    /// AWS's description (empty when absent).
    #[serde(default)]
    pub description: String,
    /// The event's ID, `instance-event-...`: its identity while it changes.
    pub event_id: String,
    /// The start of the window.
    pub not_before: EventTime,
    /// The end of the window, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<EventTime>,
    /// The latest start the event can be rescheduled to, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_deadline: Option<EventTime>,
    /// Where the event stands.
    pub state: MaintenanceState,
}

impl MaintenanceEvent {
    /// An event with these required fields, no description and no end or
    /// deadline.
    pub fn new(
        event_id: impl Into<String>,
        code: MaintenanceCode,
        state: MaintenanceState,
        not_before: EventTime,
    ) -> Self {
        Self {
            code,
            description: String::new(),
            event_id: event_id.into(),
            not_before,
            not_after: None,
            not_before_deadline: None,
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse_json;

    #[test]
    fn maintenance_events_as_aws_documents_them() {
        // AWS's examples, an unknown field, and a new code and state.
        let body = br#"[
          {"NotBefore": "21 Jan 2019 09:00:43 GMT", "Code": "system-reboot",
           "Description": "scheduled reboot", "EventId": "instance-event-0d59937288b749b32",
           "NotAfter": "21 Jan 2019 09:17:23 GMT", "State": "active"},
          {"NotBefore": "21 Jan 2019 09:00:43 GMT", "Code": "instance-stop",
           "Description": "[Canceled] scheduled stop", "EventId": "instance-event-1",
           "NotAfter": null, "NotBeforeDeadline": "31 Jan 2019 09:00:43 GMT",
           "State": "canceled", "Future": {"x": 1}},
          {"NotBefore": "soon", "Code": "instance-teleport", "EventId": "instance-event-2",
           "State": "postponed"}
        ]"#;
        let events: Vec<MaintenanceEvent> = parse_json("/s", body).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].code, MaintenanceCode::SystemReboot);
        assert_eq!(events[0].description, "scheduled reboot");
        assert_eq!(events[0].event_id, "instance-event-0d59937288b749b32");
        assert_eq!(events[0].not_before.as_str(), "21 Jan 2019 09:00:43 GMT");
        assert!(events[0].not_after.as_ref().unwrap().time().is_some());
        assert_eq!(events[0].state, MaintenanceState::Active);
        assert_eq!(events[1].code, MaintenanceCode::InstanceStop);
        assert_eq!(events[1].not_after, None);
        assert_eq!(
            events[1].not_before_deadline.as_ref().unwrap().as_str(),
            "31 Jan 2019 09:00:43 GMT"
        );
        assert_eq!(events[1].state, MaintenanceState::Canceled);
        assert_eq!(
            events[2].code,
            MaintenanceCode::Other("instance-teleport".into())
        );
        assert_eq!(events[2].state.as_str(), "postponed");
        assert_eq!(events[2].description, "");
        assert_eq!(events[2].not_before.time(), None);
        // Serialized back under AWS's names, absent options left out.
        let value = serde_json::to_value(&events[2]).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "Code": "instance-teleport", "Description": "", "EventId": "instance-event-2",
                "NotBefore": "soon", "State": "postponed"
            })
        );
        let back: MaintenanceEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, events[2]);
    }

    #[test]
    fn every_known_value_parses_to_its_variant_and_back() {
        for code in [
            "instance-reboot",
            "system-reboot",
            "system-maintenance",
            "instance-retirement",
            "instance-stop",
        ] {
            let parsed = MaintenanceCode::from(code);
            assert!(!matches!(parsed, MaintenanceCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
        }
        for state in ["active", "completed", "canceled"] {
            let parsed = MaintenanceState::from(state);
            assert!(!matches!(parsed, MaintenanceState::Other(_)), "{state}");
            assert_eq!(parsed.to_string(), state);
        }
        for state in [
            "InService",
            "Terminated",
            "Detached",
            "Standby",
            "Warmed:Hibernated",
            "Warmed:Running",
            "Warmed:Stopped",
            "Warmed:Terminated",
        ] {
            let parsed = TargetLifecycleState::parse(&format!(" {state}\n"));
            assert!(!matches!(parsed, TargetLifecycleState::Other(_)), "{state}");
            assert_eq!(parsed.as_str(), state);
            assert_eq!(
                parsed.is_terminating(),
                state.ends_with("Terminated"),
                "{state}"
            );
        }
        assert_eq!(
            TargetLifecycleState::parse("Pending:Wait"),
            TargetLifecycleState::Other("Pending:Wait".into())
        );
        // Case matters: IMDS writes one spelling.
        assert_eq!(
            MaintenanceState::from("Active"),
            MaintenanceState::Other("Active".into())
        );
    }

    #[test]
    fn malformed_maintenance_documents_are_errors() {
        for body in [
            &b"{}"[..],
            b"[{\"Code\": \"system-reboot\"}]",
            b"[{\"Code\": 1, \"EventId\": \"e\", \"NotBefore\": \"x\", \"State\": \"active\"}]",
            b"not json",
        ] {
            assert!(
                parse_json::<Vec<MaintenanceEvent>>("/s", body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn rebalance_recommendation() {
        let body = br#"{"noticeTime": "2020-10-27T08:22:00Z", "other": true}"#;
        let notice: RebalanceRecommendation = parse_json("/r", body).unwrap();
        assert_eq!(notice.notice_time.as_str(), "2020-10-27T08:22:00Z");
        assert!(notice.notice_time.time().is_some());
        assert!(parse_json::<RebalanceRecommendation>("/r", b"{}").is_err());
    }
}
