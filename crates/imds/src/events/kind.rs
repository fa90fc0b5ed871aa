//! [`EventKind`]: what a watch polls, one IMDS path each.

use std::fmt;
use std::str::FromStr;

/// A kind of event, and the one IMDS path a watch polls for it.
///
/// Named on the command line (`imds events --kinds spot,maintenance`) and
/// in JSON by [`name`](Self::name).
///
/// ```
/// use imds::events::EventKind;
///
/// let kind: EventKind = "maintenance".parse()?;
/// assert_eq!(kind.path(), "/latest/meta-data/events/maintenance/scheduled");
/// assert!("weather".parse::<EventKind>().is_err());
/// # Ok::<(), imds::events::UnknownKind>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// A Spot interruption notice: `meta-data/spot/instance-action`.
    Spot,
    /// A rebalance recommendation: `meta-data/events/recommendations/rebalance`.
    Rebalance,
    /// Scheduled maintenance events: `meta-data/events/maintenance/scheduled`.
    Maintenance,
    /// The Auto Scaling target lifecycle state:
    /// `meta-data/autoscaling/target-lifecycle-state`.
    AutoScaling,
}

impl EventKind {
    /// Every kind, in the order a watch reports them.
    pub const ALL: [EventKind; 4] = [
        EventKind::Spot,
        EventKind::Rebalance,
        EventKind::Maintenance,
        EventKind::AutoScaling,
    ];

    /// `spot`, `rebalance`, `maintenance` or `autoscaling`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Spot => "spot",
            EventKind::Rebalance => "rebalance",
            EventKind::Maintenance => "maintenance",
            EventKind::AutoScaling => "autoscaling",
        }
    }

    /// The path polled for this kind.
    pub fn path(self) -> &'static str {
        match self {
            EventKind::Spot => "/latest/meta-data/spot/instance-action",
            EventKind::Rebalance => "/latest/meta-data/events/recommendations/rebalance",
            EventKind::Maintenance => "/latest/meta-data/events/maintenance/scheduled",
            EventKind::AutoScaling => "/latest/meta-data/autoscaling/target-lifecycle-state",
        }
    }

    /// A bit of its own, for [`Kinds`].
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no [`EventKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}: expected spot, rebalance, maintenance or autoscaling")]
pub struct UnknownKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| UnknownKind(name.to_owned()))
    }
}

/// A set of kinds, iterated in [`EventKind::ALL`]'s order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Kinds(u8);

impl Kinds {
    pub(crate) const ALL: Kinds = Kinds(0b1111);

    /// `kinds` as a set; every kind when `kinds` is empty.
    pub(crate) fn from_iter_or_all(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        let set = kinds.into_iter().fold(0, |set, kind| set | kind.bit());
        if set == 0 { Self::ALL } else { Kinds(set) }
    }

    pub(crate) fn contains(self, kind: EventKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = EventKind> + Clone {
        EventKind::ALL
            .into_iter()
            .filter(move |kind| self.contains(*kind))
    }
}

impl fmt::Debug for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_paths_are_distinct() {
        for kind in EventKind::ALL {
            assert_eq!(kind.name().parse::<EventKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.name());
            assert!(kind.path().starts_with("/latest/meta-data/"));
        }
        let paths: std::collections::HashSet<_> = EventKind::ALL.map(EventKind::path).into();
        assert_eq!(paths.len(), 4);
        let error = "Spot".parse::<EventKind>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown event kind \"Spot\": expected spot, rebalance, maintenance or autoscaling"
        );
    }

    #[test]
    fn sets_keep_the_canonical_order_and_default_to_all() {
        let set = Kinds::from_iter_or_all([
            EventKind::AutoScaling,
            EventKind::Spot,
            EventKind::AutoScaling,
        ]);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [EventKind::Spot, EventKind::AutoScaling]
        );
        assert!(!set.contains(EventKind::Rebalance));
        assert_eq!(Kinds::from_iter_or_all([]), Kinds::ALL);
        assert_eq!(Kinds::ALL.iter().collect::<Vec<_>>(), EventKind::ALL);
        assert_eq!(
            format!("{:?}", Kinds::ALL),
            "{Spot, Rebalance, Maintenance, AutoScaling}"
        );
    }
}
