//! The event documents' getters on [`Client`]. For each, 404 means "no
//! such event now"; a 429, a 5xx, a timeout or a transport error is an
//! error (after the client's retries), never "no event".

use super::document::{MaintenanceEvent, RebalanceRecommendation, TargetLifecycleState};
use super::kind::EventKind;
use super::state::Reading;
use super::time::EventTime;
use crate::Client;
use crate::error::Error;

const TERMINATION_TIME: &str = "/latest/meta-data/spot/termination-time";
const MAINTENANCE_HISTORY: &str = "/latest/meta-data/events/maintenance/history";

impl Client {
    /// `meta-data/spot/termination-time`: when a Spot instance marked for
    /// termination will be terminated (RFC 3339; the older companion of
    /// [`spot_instance_action`](Self::spot_instance_action)). `None` when
    /// it is not marked for termination: no notice, or a notice to stop or
    /// hibernate, which EC2 gives no termination time.
    pub async fn spot_termination_time(&self) -> Result<Option<EventTime>, Error> {
        let text = self.get_text(TERMINATION_TIME).await?;
        Ok(text.map(|text| EventTime::new(text.trim())))
    }

    /// `meta-data/events/recommendations/rebalance`; `None` when EC2 has
    /// not recommended a rebalance.
    pub async fn rebalance_recommendation(&self) -> Result<Option<RebalanceRecommendation>, Error> {
        self.get_json(EventKind::Rebalance.path()).await
    }

    /// `meta-data/events/maintenance/scheduled`: the maintenance events EC2
    /// has scheduled for the instance (empty on 404).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// use imds::events::MaintenanceState;
    ///
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// for event in client.scheduled_maintenance().await? {
    ///     if event.state == MaintenanceState::Active {
    ///         println!("{} at {}: {}", event.code, event.not_before, event.description);
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn scheduled_maintenance(&self) -> Result<Vec<MaintenanceEvent>, Error> {
        Ok(self
            .get_json(EventKind::Maintenance.path())
            .await?
            .unwrap_or_default())
    }

    /// `meta-data/events/maintenance/history`: completed and canceled
    /// maintenance events (empty on 404).
    pub async fn maintenance_history(&self) -> Result<Vec<MaintenanceEvent>, Error> {
        Ok(self
            .get_json(MAINTENANCE_HISTORY)
            .await?
            .unwrap_or_default())
    }

    /// `meta-data/autoscaling/target-lifecycle-state`: the Auto Scaling
    /// lifecycle state the instance is moving to; `None` outside an Auto
    /// Scaling group. An unknown value is kept as
    /// [`TargetLifecycleState::Other`].
    pub async fn target_lifecycle_state(&self) -> Result<Option<TargetLifecycleState>, Error> {
        let text = self.get_text(EventKind::AutoScaling.path()).await?;
        Ok(text.map(|text| TargetLifecycleState::parse(&text)))
    }

    /// One GET of `kind`'s path.
    pub(crate) async fn read_kind(&self, kind: EventKind) -> Result<Reading, Error> {
        Ok(match kind {
            EventKind::Spot => Reading::Spot(self.spot_instance_action().await?),
            EventKind::Rebalance => Reading::Rebalance(self.rebalance_recommendation().await?),
            EventKind::Maintenance => Reading::Maintenance(self.scheduled_maintenance().await?),
            EventKind::AutoScaling => Reading::AutoScaling(self.target_lifecycle_state().await?),
        })
    }
}
