//! P6, the event watcher (`imds::Client::events`): what a poll cycle
//! costs, against one plain read.
//!
//! - **GETs per cycle**: every request goes through a counting HTTP
//!   service under the client (`ClientBuilder::http_service`), which
//!   checks that each run of four GETs is one GET of each watched path
//!   (spot, rebalance, maintenance, autoscaling), and counts token PUTs.
//!   Exactly four per cycle, plus token renewals, is a correctness check.
//! - **CPU per cycle** against one `Client::get` of `instance-id` with a
//!   cached token: the thread CPU time (`/proc/thread-self/schedstat`) of
//!   the one thread that runs the client, its HTTP connections and the mock
//!   (a current-thread runtime of its own), so both figures include the
//!   mock's side of each request. A cycle sends four GETs: the cost of the
//!   watcher itself is what a cycle costs beyond four reads.
//! - **Memory over 100,000 cycles**: the process's resident set after a
//!   warm-up of 1,000 cycles and after the rest, from one stream. The
//!   mock's request log (capped at 65,536 entries) is filled by the plain
//!   reads first, so that its growth does not count.
//!
//! The watch polls back to back (`__internals::watch_interval` with a zero
//! interval, below the public 1 s floor): the same stream, sleep and all,
//! without waiting. The mock serves an `InService` Auto Scaling state and
//! one active maintenance event, and 404 for Spot and rebalance: two JSON
//! parses and two 404s a cycle, the usual state of an instance.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, Request};
use http_body_util::Empty;
use hyper_util::client::legacy::{Client as HyperClient, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use imds::events::EventKind;
use imds_bench::{
    Mode,
    fixture::INSTANCE_ID,
    report::{self, Table},
};
use imds_mock::MockImds;
use tokio::sync::Notify;
use tokio::time::Instant;
use tower::{BoxError, Service};

/// Bytes of resident set per cycle, at most, from the warm-up to the end,
/// to call memory flat (pages and the allocator leave a little).
const FLAT_BYTES_PER_CYCLE: f64 = 1.0;

struct Counts {
    reads: u64,
    warmup_cycles: u64,
    cycles: u64,
}

impl Counts {
    fn for_mode(mode: Mode) -> Self {
        Self {
            reads: mode.pick(1_000, 100_000),
            warmup_cycles: mode.pick(100, 1_000),
            cycles: mode.pick(1_000, 100_000),
        }
    }
}

/// What `n` operations cost.
#[derive(Clone, Copy, Debug)]
struct Cost {
    n: u64,
    cpu: Option<Duration>,
    wall: Duration,
}

impl Cost {
    /// Starts measuring `n` operations.
    fn start(n: u64) -> (u64, Option<Duration>, Instant) {
        (n, thread_cpu(), Instant::now())
    }

    fn stop((n, cpu, wall): (u64, Option<Duration>, Instant)) -> Self {
        Cost {
            n,
            cpu: elapsed_cpu(cpu),
            wall: wall.elapsed(),
        }
    }

    fn cpu_each(self) -> Option<Duration> {
        Some(self.cpu? / u32::try_from(self.n.max(1)).ok()?)
    }

    fn wall_each(self) -> Duration {
        self.wall / u32::try_from(self.n.max(1)).unwrap_or(u32::MAX)
    }
}

/// What the measuring thread found.
struct Measured {
    read: Cost,
    by_hand: Cost,
    warmup_cycles: u64,
    /// The measured cycles (after the warm-up).
    cycle: Cost,
    /// `(cycles so far, resident set in KiB)`, from the end of the warm-up.
    rss: Vec<(u64, u64)>,
    /// GETs of the whole watch, warm-up included.
    gets: u64,
    token_puts: u64,
    failures: Vec<String>,
}

pub async fn run(mode: Mode) -> Result<Vec<String>, BoxError> {
    let counts = Counts::for_mode(mode);
    let m = tokio::task::spawn_blocking(move || measure(counts)).await??;
    let total = m.warmup_cycles + m.cycle.n;

    report::heading("P6 event watcher: a poll cycle");
    println!(
        "`client.events().stream()` over the four kinds (spot and rebalance 404, an \
         Auto Scaling state, one maintenance event), polling back to back. Against: \
         `Client::get` of instance-id in a loop (token cached); and the same four GETs \
         by hand, concurrently, then `sleep(0)` as the watch does (a poller sleeps \
         between polls: waking costs it the same). Client and mock on one thread \
         (current-thread runtime); CPU is that thread's (schedstat), the mock's side \
         included. {} reads, {} polls by hand, {} watch cycles after {} warm-up \
         cycles, one stream.",
        m.read.n, m.by_hand.n, m.cycle.n, m.warmup_cycles,
    );
    println!();
    let show = |d: Option<Duration>| d.map_or_else(|| "n/a".to_owned(), report::duration);
    let against_read = |cost: Cost| match (cost.cpu_each(), m.read.cpu_each()) {
        (Some(cost), Some(read)) => report::times(cost.as_secs_f64() / read.as_secs_f64()),
        _ => "n/a".to_owned(),
    };
    let mut table = Table::new(&[
        "",
        "count",
        "GETs each",
        "CPU each",
        "CPU / plain read",
        "wall each",
    ]);
    table.row(vec![
        "plain read (`Client::get`)".into(),
        m.read.n.to_string(),
        "1".into(),
        show(m.read.cpu_each()),
        against_read(m.read),
        report::duration(m.read.wall_each()),
    ]);
    table.row(vec![
        "poll by hand (4 GETs joined, sleep(0))".into(),
        m.by_hand.n.to_string(),
        "4".into(),
        show(m.by_hand.cpu_each()),
        against_read(m.by_hand),
        report::duration(m.by_hand.wall_each()),
    ]);
    table.row(vec![
        "watch cycle (4 kinds)".into(),
        m.cycle.n.to_string(),
        format!("{:.3}", m.gets as f64 / total as f64),
        show(m.cycle.cpu_each()),
        against_read(m.cycle),
        report::duration(m.cycle.wall_each()),
    ]);
    table.print();
    println!();
    if let (Some(cycle), Some(by_hand)) = (m.cycle.cpu_each(), m.by_hand.cpu_each()) {
        let own = cycle.as_secs_f64() - by_hand.as_secs_f64();
        println!(
            "- CPU: the watcher's own share of a cycle (cycle − poll by hand): {:.1} µs, \
             {:.1}% of the cycle. Wall time is the timer's millisecond tick (`sleep(0)` \
             waits for it).",
            own * 1e6,
            100.0 * own / cycle.as_secs_f64(),
        );
    }
    println!(
        "- GETs: {} over {total} cycles, each run of four one GET per kind (checked); \
         token PUTs: {}.",
        m.gets, m.token_puts,
    );
    match (m.rss.first(), m.rss.last()) {
        (Some(&(from, before)), Some(&(to, after))) if to > from => {
            let growth = after.saturating_sub(before);
            let per_cycle = growth as f64 * 1024.0 / (to - from) as f64;
            let points: Vec<String> = m
                .rss
                .iter()
                .map(|(cycles, kib)| format!("{cycles}: {kib}"))
                .collect();
            println!(
                "- Memory: resident set (KiB) by cycles, {}; {growth} KiB more from {from} \
                 to {to} cycles, {per_cycle:.2} B per cycle (flat ≤ {FLAT_BYTES_PER_CYCLE} \
                 B: {}).",
                points.join(", "),
                match mode {
                    // Too few reads first to fill the mock's request log.
                    Mode::Quick => "not judged in quick mode",
                    Mode::Full if per_cycle <= FLAT_BYTES_PER_CYCLE => "met",
                    Mode::Full => "MISSED",
                },
            );
        }
        _ => println!("- Memory: this system has no /proc/self/status VmRSS."),
    }
    Ok(m.failures)
}

/// Runs the reads and the watch on this (blocking-pool) thread, in a
/// current-thread runtime that serves the mock as well.
fn measure(counts: Counts) -> Result<Measured, BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure_on_this_thread(counts))
}

async fn measure_on_this_thread(counts: Counts) -> Result<Measured, BoxError> {
    let mut failures = Vec::new();
    let mock = MockImds::builder().build().start().await?;
    mock.set_metadata("meta-data/autoscaling/target-lifecycle-state", "InService");
    mock.set_metadata(
        "meta-data/events/maintenance/scheduled",
        r#"[{"Code": "system-reboot", "Description": "scheduled reboot",
            "EventId": "instance-event-0d59937288b749b32",
            "NotBefore": "21 Jan 2026 09:00:43 GMT", "NotAfter": "21 Jan 2026 09:17:23 GMT",
            "State": "active"}]"#,
    );
    let counter = Arc::new(Counter::default());
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(mock.base_url())
        .http_service(Counting::new(Arc::clone(&counter)))
        .build()?;
    client.get(INSTANCE_ID).await?;

    let started = Cost::start(counts.reads);
    for _ in 0..counts.reads {
        if client.get(INSTANCE_ID).await?.is_none() {
            return Err("instance-id: 404".into());
        }
    }
    let read = Cost::stop(started);

    let paths = EventKind::ALL.map(EventKind::path);
    let started = Cost::start(counts.cycles / 4);
    for _ in 0..counts.cycles / 4 {
        for result in futures_util::future::join_all(paths.map(|path| client.get(path))).await {
            result?;
        }
        tokio::time::sleep(Duration::ZERO).await;
    }
    let by_hand = Cost::stop(started);
    // The mock's request log (65,536 entries at most) is full by now in a
    // full run, so that its growth is not the watch's.

    // The watch: warm-up, then the measured cycles in tenths, one stream.
    counter.watching(true);
    let mut events = imds::__internals::watch_interval(client.events(), Duration::ZERO).stream();
    let mut seen = Vec::new();
    let gets_before = counter.gets();
    drive(
        &mut events,
        &counter,
        gets_before + 4 * counts.warmup_cycles,
        &mut seen,
    )
    .await;
    let mut rss = Vec::new();
    rss.extend(vm_rss_kib().map(|kib| (counts.warmup_cycles, kib)));
    let measured = counts.cycles - counts.warmup_cycles;
    let started = Cost::start(measured);
    for tenth in 1..=10 {
        let cycles = counts.warmup_cycles + measured * tenth / 10;
        drive(&mut events, &counter, gets_before + 4 * cycles, &mut seen).await;
        rss.extend(vm_rss_kib().map(|kib| (cycles, kib)));
    }
    let cycle = Cost::stop(started);
    drop(events);
    counter.watching(false);

    let books = counter.snapshot();
    let gets = books.gets - gets_before;
    if books.bad_runs > 0 {
        failures.push(format!(
            "P6: {} runs of four GETs were not one GET per kind",
            books.bad_runs
        ));
    }
    if gets != 4 * counts.cycles {
        failures.push(format!(
            "P6: {gets} GETs for {} cycles, not 4 each",
            counts.cycles
        ));
    }
    if seen != [Ok(EventKind::Maintenance), Ok(EventKind::AutoScaling)] {
        failures.push(format!(
            "P6: the watch yielded {seen:?}, not the two documents there"
        ));
    }
    if books.puts != 1 {
        failures.push(format!(
            "P6: {} token PUTs, not 1 (no token expires in this run)",
            books.puts
        ));
    }
    // The last cycle's GETs may not have left when the stream was dropped.
    let sent = books.gets;
    let reads = mock.stats().reads;
    if reads > sent || reads + 4 < sent {
        failures.push(format!(
            "P6: the mock saw {reads} reads, the client sent {sent}"
        ));
    }
    mock.shutdown().await;
    Ok(Measured {
        read,
        by_hand,
        warmup_cycles: counts.warmup_cycles,
        cycle,
        rss,
        gets,
        token_puts: books.puts,
        failures,
    })
}

/// Polls `events` until the counter has seen `target` GETs; records what
/// it yields (an event's kind, or an error's message).
async fn drive(
    events: &mut imds::events::Events,
    counter: &Counter,
    target: u64,
    seen: &mut Vec<Result<EventKind, String>>,
) {
    counter.set_target(target);
    loop {
        tokio::select! {
            biased;
            () = counter.reached.notified() => return,
            item = events.next() => match item {
                Some(Ok(event)) => seen.push(Ok(event.kind())),
                Some(Err(error)) => seen.push(Err(error.to_string())),
                None => return,
            },
        }
    }
}

/// The counting service's books.
#[derive(Clone, Copy, Debug, Default)]
struct Books {
    gets: u64,
    puts: u64,
    /// While watching: the kinds seen in the current run of four GETs.
    run: u8,
    run_len: u8,
    bad_runs: u64,
    watching: bool,
    target: u64,
}

#[derive(Default)]
struct Counter {
    books: Mutex<Books>,
    reached: Notify,
}

impl Counter {
    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn gets(&self) -> u64 {
        self.books().gets
    }

    fn snapshot(&self) -> Books {
        *self.books()
    }

    fn watching(&self, on: bool) {
        let mut books = self.books();
        books.watching = on;
        books.run = 0;
        books.run_len = 0;
    }

    fn set_target(&self, target: u64) {
        self.books().target = target;
    }

    fn record(&self, method: &Method, path: &str) {
        let mut books = self.books();
        if method == Method::PUT {
            books.puts += 1;
            return;
        }
        books.gets += 1;
        if books.watching {
            let bit = EventKind::ALL
                .iter()
                .position(|kind| kind.path() == path)
                .map_or(0x80, |i| 1u8 << i);
            if books.run & bit != 0 {
                books.bad_runs += 1;
            }
            books.run |= bit;
            books.run_len += 1;
            if books.run_len == 4 {
                if books.run != 0b1111 {
                    books.bad_runs += 1;
                }
                books.run = 0;
                books.run_len = 0;
            }
        }
        if books.gets == books.target {
            self.reached.notify_one();
        }
    }
}

/// hyper-util's client (as the `imds` client builds it: no proxy,
/// `TCP_NODELAY`), counting what passes.
#[derive(Clone)]
struct Counting {
    inner: HyperClient<HttpConnector, Empty<Bytes>>,
    counter: Arc<Counter>,
}

impl Counting {
    fn new(counter: Arc<Counter>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            inner: HyperClient::builder(TokioExecutor::new()).build(connector),
            counter,
        }
    }
}

impl Service<Request<Empty<Bytes>>> for Counting {
    type Response =
        <HyperClient<HttpConnector, Empty<Bytes>> as Service<Request<Empty<Bytes>>>>::Response;
    type Error = hyper_util::client::legacy::Error;
    type Future = hyper_util::client::legacy::ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Empty<Bytes>>) -> Self::Future {
        self.counter.record(request.method(), request.uri().path());
        self.inner.request(request)
    }
}

/// This thread's CPU time so far (`/proc/thread-self/schedstat`, ns).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn elapsed_cpu(since: Option<Duration>) -> Option<Duration> {
    Some(thread_cpu()?.saturating_sub(since?))
}

/// The process's resident set now, in KiB.
fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
}
