//! Values that never change while the instance is up (its ID, type,
//! placement, account and MAC): the client's getters for them, and the
//! memory that serves them after their first read.
//!
//! IMDS throttles queries per instance, and a host running thousands of
//! tasks that each ask for the instance ID or the region runs into that
//! limit (amazon-ecs-agent#4847). These values cannot change during a
//! boot, so the client reads each once and shares it with every clone.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use super::{Client, path};
use crate::error::Error;

/// The values kept, a slot each.
#[derive(Debug, Default)]
struct Slots {
    instance_id: OnceCell<String>,
    instance_type: OnceCell<String>,
    region: OnceCell<String>,
    availability_zone: OnceCell<String>,
    availability_zone_id: OnceCell<String>,
    account_id: OnceCell<String>,
    mac: OnceCell<String>,
}

/// Which slot of [`Slots`] a value goes in.
type Slot = fn(&Slots) -> &OnceCell<String>;

/// The boot-stable values read so far, shared by a client's clones.
#[derive(Debug, Default)]
pub(crate) struct StableValues {
    /// Replaced whole by [`forget`](Self::forget): a read under way
    /// completes into the slots it started with, which nobody reads again.
    slots: Mutex<Arc<Slots>>,
}

impl StableValues {
    /// The value kept for `which`, or the outcome of `read`, kept when it is
    /// a value. Concurrent first reads share one `read`; an error is
    /// returned to its caller and not kept, so the next caller reads again.
    async fn get_or_read<F>(&self, which: Slot, read: F) -> Result<String, Error>
    where
        F: Future<Output = Result<String, Error>>,
    {
        let slots = Arc::clone(&self.slots.lock().unwrap_or_else(PoisonError::into_inner));
        which(&slots).get_or_try_init(|| read).await.cloned()
    }

    /// Drops every value kept.
    fn forget(&self) {
        *self.slots.lock().unwrap_or_else(PoisonError::into_inner) = Arc::default();
    }
}

impl Client {
    /// `which`, from memory, or read by `read` and kept (see the module
    /// docs). A disabled client fails at once, with nothing kept.
    async fn stable<F>(&self, which: Slot, read: F) -> Result<String, Error>
    where
        F: Future<Output = Result<String, Error>>,
    {
        self.enabled()?.stable.get_or_read(which, read).await
    }

    /// Forgets the boot-stable values this client and its clones keep
    /// ([`instance_id`](Self::instance_id), [`instance_type`](Self::instance_type),
    /// [`region`](Self::region), [`availability_zone`](Self::availability_zone),
    /// [`availability_zone_id`](Self::availability_zone_id),
    /// [`account_id`](Self::account_id), [`mac`](Self::mac)): the next call
    /// of each reads IMDS again. For a process that may have been moved to
    /// another instance while it ran (a VM or container snapshot restored
    /// elsewhere); on one instance these values do not change while it is
    /// up. The session token is kept.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let id = client.instance_id().await?;
    /// assert_eq!(client.clone().instance_id().await?, id); // from memory
    /// assert_eq!(mock.stats().reads, 1);
    ///
    /// client.forget_cached();
    /// client.instance_id().await?;
    /// assert_eq!(mock.stats().reads, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn forget_cached(&self) {
        if let Ok(enabled) = self.enabled() {
            enabled.stable.forget();
        }
    }

    /// `meta-data/instance-id`. Read once, then served from memory (see
    /// [`forget_cached`](Self::forget_cached)).
    pub async fn instance_id(&self) -> Result<String, Error> {
        let read = self.required_text("meta-data/instance-id");
        self.stable(|slots| &slots.instance_id, read).await
    }

    /// `meta-data/instance-type`, e.g. `t3.micro`. Read once, then served
    /// from memory.
    pub async fn instance_type(&self) -> Result<String, Error> {
        let read = self.required_text("meta-data/instance-type");
        self.stable(|slots| &slots.instance_type, read).await
    }

    /// `meta-data/placement/availability-zone`, e.g. `us-east-1a`. Read
    /// once, then served from memory.
    pub async fn availability_zone(&self) -> Result<String, Error> {
        let read = self.required_text("meta-data/placement/availability-zone");
        self.stable(|slots| &slots.availability_zone, read).await
    }

    /// `meta-data/placement/availability-zone-id`, e.g. `use1-az4`: the
    /// zone's ID, the same in every account (zone names are mapped per
    /// account). Read once, then served from memory.
    pub async fn availability_zone_id(&self) -> Result<String, Error> {
        let read = self.required_text("meta-data/placement/availability-zone-id");
        self.stable(|slots| &slots.availability_zone_id, read).await
    }

    /// The region: `meta-data/placement/region`, or the identity document's
    /// when an older instance has no such path. Read once, then served from
    /// memory.
    pub async fn region(&self) -> Result<String, Error> {
        let read = async {
            match self.get_text("meta-data/placement/region").await? {
                Some(region) => Ok(region.trim().to_owned()),
                None => Ok(self.identity_document().await?.region),
            }
        };
        self.stable(|slots| &slots.region, read).await
    }

    /// The AWS account the instance runs in: the identity document's
    /// `accountId`. Read once, then served from memory.
    pub async fn account_id(&self) -> Result<String, Error> {
        let read = async { Ok(self.identity_document().await?.account_id) };
        self.stable(|slots| &slots.account_id, read).await
    }

    /// `meta-data/mac`: the MAC address of the primary network interface,
    /// e.g. `0e:8f:62:3a:d1:47`, the key of its data under
    /// `meta-data/network/interfaces/macs/`. Read once, then served from
    /// memory.
    pub async fn mac(&self) -> Result<String, Error> {
        let read = self.required_text("meta-data/mac");
        self.stable(|slots| &slots.mac, read).await
    }

    /// Text that must exist: 404 is [`Error::Status`]. Surrounding
    /// whitespace is trimmed.
    async fn required_text(&self, path: &str) -> Result<String, Error> {
        let text = self.get_text(path).await?;
        Ok(text.ok_or_else(|| path::not_found(path))?.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use futures_util::FutureExt;
    use tokio::sync::oneshot;

    use super::*;

    const INSTANCE_ID: Slot = |slots| &slots.instance_id;

    fn value(text: &str) -> impl Future<Output = Result<String, Error>> {
        std::future::ready(Ok(text.to_owned()))
    }

    // A read under way when the values are forgotten completes for its
    // caller, and is not what the next caller gets: that one reads again.
    #[tokio::test]
    async fn a_read_under_way_when_forgotten_is_not_kept() {
        let values = StableValues::default();
        let (answer, answered) = oneshot::channel::<String>();
        let mut first =
            pin!(values.get_or_read(INSTANCE_ID, async { Ok(answered.await.expect("answered")) }));
        assert!(first.as_mut().now_or_never().is_none(), "reading");

        values.forget();
        answer.send("i-before".to_owned()).unwrap();
        assert_eq!(first.await.unwrap(), "i-before");
        let next = values.get_or_read(INSTANCE_ID, value("i-after")).await;
        assert_eq!(next.unwrap(), "i-after", "read again");
        let kept = values.get_or_read(INSTANCE_ID, value("unused")).await;
        assert_eq!(kept.unwrap(), "i-after", "kept");
    }
}
