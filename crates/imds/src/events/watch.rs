//! [`EventWatch`]: what to watch and how often; its stream, [`Events`]; and
//! the one-shot [`snapshot`](EventWatch::snapshot) and
//! [`interruption`](EventWatch::interruption).

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use tower::util::rng::{HasherRng, Rng};

use super::event::{Event, Interruption};
use super::kind::{EventKind, Kinds};
use super::state::{Reading, Snapshot};
use crate::Client;
use crate::error::Error;

/// How often a watch polls unless told otherwise: AWS's advice for Spot
/// notices.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest interval a watch accepts; shorter ones are raised to it.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// While polls fail, the wait between them doubles from one interval up to
/// this many.
pub const MAX_BACKOFF_INTERVALS: u32 = 4;
/// Each wait is longer than the interval by a random part of it, up to
/// this fraction, so that pollers started together drift apart.
const JITTER: f64 = 0.1;

/// What to watch and how often: [`Client::events`] makes one.
///
/// [`stream`](Self::stream) polls for changes; [`snapshot`](Self::snapshot)
/// reads the state once; [`interruption`](Self::interruption) waits for a
/// Spot notice or an Auto Scaling termination.
#[derive(Clone)]
#[must_use]
pub struct EventWatch {
    client: Client,
    kinds: Kinds,
    interval: Duration,
}

impl fmt::Debug for EventWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWatch")
            .field("kinds", &self.kinds)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A watch of every [kind](EventKind) of event, every 5 s: set it up,
    /// then take its [`stream`](EventWatch::stream), its
    /// [`snapshot`](EventWatch::snapshot) or its
    /// [`interruption`](EventWatch::interruption).
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use imds::events::{Change, Event, EventKind};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// # mock.set_metadata("meta-data/spot/instance-action",
    /// #     r#"{"action": "stop", "time": "2026-12-02T10:04:05Z"}"#);
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let mut events = client
    ///     .events()
    ///     .kinds([EventKind::Spot, EventKind::Rebalance])
    ///     .interval(Duration::from_secs(2))
    ///     .stream();
    /// while let Some(event) = events.next().await {
    ///     match event {
    ///         Ok(Event::Spot(Change::Appeared { current })) => {
    ///             println!("Spot {} at {}", current.action, current.time);
    ///             break;
    ///         }
    ///         Ok(other) => println!("{other:?}"),
    ///         Err(error) => eprintln!("{error}; still watching"),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn events(&self) -> EventWatch {
        EventWatch {
            client: self.clone(),
            kinds: Kinds::ALL,
            interval: DEFAULT_INTERVAL,
        }
    }

    /// Waits for the instance to be interrupted: resolves with the first
    /// Spot interruption notice, or Auto Scaling's `Terminated` (or
    /// `Warmed:Terminated`) target state, polling those two every 5 s.
    /// A notice already there when it starts counts.
    ///
    /// Failed polls are logged (`warn`) and polling goes on; the only error
    /// is [`Error::Disabled`], at once. Cancel-safe: drop the future to
    /// stop. `self.events().interval(..).interruption()` polls at
    /// another interval.
    ///
    /// A graceful drain:
    ///
    /// ```
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// # let time = humantime::format_rfc3339_seconds(imds::clock::now() + Duration::from_secs(120));
    /// # mock.set_metadata("meta-data/spot/instance-action",
    /// #     format!(r#"{{"action": "terminate", "time": "{time}"}}"#));
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let (stop, mut stopped) = tokio::sync::watch::channel(false);
    /// let worker = tokio::spawn(async move {
    ///     let mut jobs = 0;
    ///     while !*stopped.borrow() {
    ///         tokio::select! {
    ///             _ = stopped.changed() => {}
    ///             _ = tokio::time::sleep(Duration::from_secs(1)) => jobs += 1, // a job
    ///         }
    ///     }
    ///     jobs // finish up: checkpoint, deregister, flush
    /// });
    ///
    /// let interruption = client.interruption().await?;
    /// // The time left, less a margin; 30 s when IMDS gives no deadline.
    /// let left = interruption
    ///     .deadline()
    ///     .and_then(|deadline| deadline.duration_since(imds::clock::now()).ok())
    ///     .unwrap_or(Duration::from_secs(30))
    ///     .saturating_sub(Duration::from_secs(10));
    /// stop.send(true)?;
    /// let jobs = tokio::time::timeout(left, worker).await??;
    /// println!("drained after {jobs} jobs: {interruption:?}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn interruption(&self) -> Result<Interruption, Error> {
        self.events()
            .kinds([EventKind::Spot, EventKind::AutoScaling])
            .interruption()
            .await
    }
}

impl EventWatch {
    /// Watches these kinds only (an empty list: every kind, the default).
    pub fn kinds(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.kinds = Kinds::from_iter_or_all(kinds);
        self
    }

    /// Polls every `interval` (default 5 s, at least 1 s), plus up to a
    /// tenth of it at random.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(MIN_INTERVAL);
        self
    }

    /// The interval, without the 1 s floor (benchmarks).
    #[cfg(feature = "__internals")]
    pub(crate) fn interval_unchecked(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The changes, as a stream: polls at once, then every interval.
    ///
    /// - **Changes only.** Each poll reads each watched kind once (one
    ///   GET each, concurrently within the client's
    ///   [concurrency](crate::ClientBuilder::concurrency)), and the stream
    ///   yields how what was read differs from what was known: a Spot
    ///   notice or a rebalance recommendation appearing, changing or going;
    ///   a maintenance event (by `EventId`) appearing, changing state (or
    ///   window) or leaving the list; the Auto Scaling state changing. The
    ///   first poll reports what is already there as
    ///   [`Appeared`](super::Change::Appeared).
    /// - **Errors are items.** A kind whose poll failed (429, 5xx, timeout,
    ///   transport error, after the client's own retries) yields the error
    ///   and keeps its last known state: a failed poll never reads as an
    ///   event gone. While polls fail, the wait doubles, from the interval
    ///   to [four intervals](MAX_BACKOFF_INTERVALS), jittered; the first
    ///   poll that succeeds everywhere brings the interval back. An expired
    ///   token is refreshed by the token layer, unseen. The stream ends only
    ///   when IMDS is disabled, after yielding [`Error::Disabled`].
    /// - **Events of a poll come in kind order** ([`EventKind::ALL`]), a
    ///   kind's maintenance events in IMDS's order, then the ones gone.
    /// - **Cancel-safe.** The stream spawns nothing: dropping it stops all
    ///   polling at once, and dropping a pending `next()` loses nothing
    ///   (the poll in progress goes on at the next call).
    ///
    /// All polls use the client's one token, retries and timeout.
    pub fn stream(self) -> Events {
        let watcher = Watcher {
            client: self.client,
            kinds: self.kinds,
            interval: self.interval,
            known: Snapshot::default(),
            pending: VecDeque::new(),
            failures: 0,
            rng: HasherRng::default(),
            polled: false,
            ended: false,
        };
        Events {
            inner: Box::pin(stream::unfold(watcher, Watcher::next)),
        }
    }

    /// The state of the watched kinds now (kinds not watched are empty):
    /// one GET each, concurrently. Fails with the first error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// # mock.set_metadata("meta-data/autoscaling/target-lifecycle-state", "InService");
    /// use imds::events::TargetLifecycleState;
    ///
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let now = client.events().snapshot().await?;
    /// assert_eq!(now.spot, None);
    /// assert_eq!(now.autoscaling, Some(TargetLifecycleState::InService));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn snapshot(&self) -> Result<Snapshot, Error> {
        let readings: Vec<Reading> = read_each(&self.client, self.kinds).try_collect().await?;
        let mut snapshot = Snapshot::default();
        let mut changes = Vec::new();
        for reading in readings {
            snapshot.update(reading, &mut changes);
        }
        Ok(snapshot)
    }

    /// Waits for the first event of the watched kinds that announces an
    /// [`Interruption`] (see [`Event::interruption`]): only `Spot` and
    /// `AutoScaling` events do. [`Client::interruption`] watches those two.
    ///
    /// Failed polls are logged (`warn`) and polling goes on; the only error
    /// is [`Error::Disabled`], at once.
    pub async fn interruption(self) -> Result<Interruption, Error> {
        self.client.settings()?;
        let mut events = self.stream();
        while let Some(item) = events.next().await {
            match item {
                Ok(event) => {
                    if let Some(interruption) = event.interruption() {
                        return Ok(interruption);
                    }
                }
                Err(error) => tracing::warn!(
                    %error,
                    "polling IMDS for an interruption notice failed; polling on"
                ),
            }
        }
        // The stream of an enabled client never ends.
        std::future::pending().await
    }
}

/// One GET of each of `kinds`, concurrently within the client's
/// concurrency, read in kind order.
fn read_each(client: &Client, kinds: Kinds) -> impl Stream<Item = Result<Reading, Error>> + '_ {
    stream::iter(kinds.iter())
        .map(|kind| client.read_kind(kind))
        .buffered(client.concurrency())
}

/// The changes a watch sees: a [`Stream`] (futures-core's) of
/// `Result<Event, Error>`, from [`EventWatch::stream`].
///
/// `Send`, `Unpin`; never ends unless IMDS is disabled.
#[must_use = "streams do nothing unless polled"]
pub struct Events {
    // Boxed: the state machine is `stream::unfold` over an async step,
    // whose future (one poll of every kind, through the client) cannot be
    // named. One allocation per watch, none per poll.
    inner: Pin<Box<dyn Stream<Item = Result<Event, Error>> + Send>>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Stream for Events {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The stream's state between items.
struct Watcher {
    client: Client,
    kinds: Kinds,
    interval: Duration,
    /// What the last successful poll of each kind read.
    known: Snapshot,
    /// Items of the last poll not yet yielded.
    pending: VecDeque<Result<Event, Error>>,
    /// Polls in a row that failed somewhere; 0 when the last one did not.
    failures: u32,
    /// The waits' jitter.
    rng: HasherRng,
    polled: bool,
    ended: bool,
}

impl Watcher {
    /// The next item, waiting and polling as long as it takes.
    async fn next(mut self) -> Option<(Result<Event, Error>, Self)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some((item, self));
            }
            if self.ended {
                return None;
            }
            if self.polled {
                self.wait().await;
            }
            self.poll().await;
        }
    }

    /// Waits for the next poll: the interval, or the backoff while polls
    /// fail, and its jitter.
    async fn wait(&mut self) {
        let wait = wait_before_poll(self.interval, self.failures, self.rng.next_f64());
        tokio::time::sleep(wait).await;
    }

    /// Reads every watched kind once; queues the changes and the errors.
    async fn poll(&mut self) {
        self.polled = true;
        if let Err(error) = self.client.settings() {
            // Disabled: no request will ever be made.
            self.pending.push_back(Err(error));
            self.ended = true;
            return;
        }
        let Self {
            client,
            kinds,
            known,
            pending,
            ..
        } = self;
        let mut readings = read_each(client, *kinds);
        let mut failed = false;
        let mut changes = Vec::new();
        while let Some(reading) = readings.next().await {
            match reading {
                Ok(reading) => {
                    known.update(reading, &mut changes);
                    pending.extend(changes.drain(..).map(Ok));
                }
                Err(error) => {
                    failed = true;
                    pending.push_back(Err(error));
                }
            }
        }
        drop(readings);
        self.failures = if failed {
            self.failures.saturating_add(1)
        } else {
            0
        };
    }
}

/// The wait before the next poll after `failures` failed polls in a row:
/// one interval, doubling with each failure from the second on, up to
/// [`MAX_BACKOFF_INTERVALS`]; plus a jitter of up to [`JITTER`] of it
/// (`random` in `0..1`). The jitter applies at the cap too (tower's
/// `ExponentialBackoff` drops it there), so that pollers failing together
/// still drift apart.
fn wait_before_poll(interval: Duration, failures: u32, random: f64) -> Duration {
    let doublings = failures
        .saturating_sub(1)
        .min(MAX_BACKOFF_INTERVALS.ilog2());
    let base = interval
        .saturating_mul(1 << doublings)
        .min(interval.saturating_mul(MAX_BACKOFF_INTERVALS));
    base.saturating_add(base.mul_f64(JITTER * random.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_have_a_floor_and_kinds_a_default() {
        let client = Client::builder()
            .env(crate::Env::from_map::<_, String, String>([]))
            .endpoint("http://127.0.0.1:1")
            .build()
            .unwrap();
        let watch = client.events();
        assert_eq!(watch.interval, DEFAULT_INTERVAL);
        assert_eq!(watch.kinds, Kinds::ALL);
        let watch = watch
            .interval(Duration::from_millis(10))
            .kinds([EventKind::Spot]);
        assert_eq!(watch.interval, MIN_INTERVAL);
        assert_eq!(watch.kinds.iter().collect::<Vec<_>>(), [EventKind::Spot]);
        assert_eq!(
            format!("{watch:?}"),
            "EventWatch { kinds: {Spot}, interval: 1s, .. }"
        );
    }

    #[test]
    fn waits_back_off_to_four_intervals_jittered_at_every_step() {
        let interval = Duration::from_secs(5);
        let waits: Vec<_> = (0..8)
            .map(|failures| wait_before_poll(interval, failures, 0.0).as_secs())
            .collect();
        assert_eq!(waits, [5, 5, 10, 20, 20, 20, 20, 20]);
        for failures in [0, 1, 2, 3, 50, u32::MAX] {
            let low = wait_before_poll(interval, failures, 0.0);
            let high = wait_before_poll(interval, failures, 0.999);
            assert!(high > low, "no jitter after {failures} failures");
            assert!(high < low.mul_f64(1.0 + JITTER), "{failures}");
        }
        assert_eq!(wait_before_poll(Duration::ZERO, 9, 0.5), Duration::ZERO);
    }

    #[test]
    fn events_are_send_and_unpin() {
        fn check<T: Send + Unpin + Stream>() {}
        check::<Events>();
    }
}
