//! A bounded fault soak: 64 concurrent tasks read through the default
//! client while the mock throws 500/503/429 bursts, a seeded background of
//! 503s, dropped connections, stalls longer than the client's timeout,
//! token expiries (the mock's clock jumps past the TTL) whose new token
//! request is dropped, stalled or refused, and a full token reset (an IMDS
//! restart). With the shipped retry policy no call may fail, and the token
//! is fetched once per expiry, not once per waiting task.
//!
//! Bounded: each task makes a few calls per event and a few after the last
//! one (about 3,000 in all); faults come at points of progress (counted
//! calls), never of wall-clock time; loopback only; and a generous deadline
//! fails the test rather than let it hang.

use std::time::Duration;

use http::StatusCode;
use imds::{Client, Env};
use imds_mock::{MockImds, TokenPutFault};
use tokio::sync::watch;

const TASKS: usize = 64;
/// Calls each task makes at least...
const CALLS_PER_TASK: usize = 40;
/// ...and after the last event.
const TAIL_CALLS: usize = 5;
/// Calls each task makes between two events, at most.
const CALLS_PER_EVENT: usize = 4;
/// Calls between two events, at least.
const GAP: usize = 50;
/// The default token TTL the client asks for: a jump of the mock's clock by
/// this much expires every token issued so far.
const TTL: Duration = Duration::from_secs(21_600);

/// What the driver injects.
#[derive(Debug, Clone)]
enum Event {
    Burst(u64, StatusCode),
    Drop(u64),
    Stall(u64),
    /// Every token expires; the PUT that replaces it meets this fault.
    Expire(Option<TokenPutFault>),
    Restart,
}

/// The events, in order: bursts of each status, dropped connections, token
/// expiries whose replacing PUT is dropped, stalled or refused (or not), a
/// full reset, and stalled reads.
fn schedule() -> Vec<Event> {
    use StatusCode as S;
    vec![
        Event::Burst(4, S::INTERNAL_SERVER_ERROR),
        Event::Expire(Some(TokenPutFault::Drop)),
        Event::Burst(4, S::SERVICE_UNAVAILABLE),
        Event::Drop(3),
        Event::Expire(Some(TokenPutFault::Stall)),
        Event::Burst(4, S::TOO_MANY_REQUESTS),
        Event::Restart,
        Event::Drop(3),
        Event::Expire(Some(TokenPutFault::Status(S::SERVICE_UNAVAILABLE))),
        Event::Burst(4, S::SERVICE_UNAVAILABLE),
        Event::Stall(2),
        Event::Expire(None),
    ]
}

/// One read of a mix of paths, as a service on an instance would make.
async fn read(client: &Client, i: usize) -> Result<(), imds::Error> {
    match i % 4 {
        0 => client.instance_id().await.map(drop),
        1 => client.region().await.map(drop),
        2 => client.user_data().await.map(drop),
        _ => client
            .get("meta-data/iam/security-credentials/imds-mock-role")
            .await
            .map(drop),
    }
}

/// How far the tasks have got, shared with the driver.
#[derive(Debug, Default)]
struct Progress {
    /// Calls completed.
    done: usize,
    /// Tasks that have calls left.
    running: usize,
    /// Events so far, and whether the last one is out.
    events: usize,
    finished: bool,
    /// Running tasks that have not started a call since the last event.
    behind: usize,
}

impl Progress {
    /// A task starts a call (or is done): it has seen the latest event.
    fn catch_up(&mut self, seen: &mut usize) {
        if *seen != self.events {
            *seen = self.events;
            self.behind -= 1;
        }
    }
}

/// One task's calls; the failed ones.
async fn calls(client: Client, task: usize, progress: watch::Sender<Progress>) -> Vec<imds::Error> {
    let mut watch = progress.subscribe();
    let mut failures = Vec::new();
    let (mut seen, mut made, mut tail) = (0, 0, 0);
    for call in 0.. {
        // A few calls per event while the driver works, so that the others
        // do not run up thousands of calls while one waits out a stall.
        let finished = watch
            .wait_for(|p| p.finished || p.events != seen || made < CALLS_PER_EVENT)
            .await
            .expect("the task holds a sender")
            .finished;
        progress.send_modify(|p| {
            if p.events != seen {
                made = 0;
            }
            p.catch_up(&mut seen);
        });
        tail += usize::from(finished);
        if call >= CALLS_PER_TASK && tail > TAIL_CALLS {
            break;
        }
        made += 1;
        if let Err(error) = read(&client, task + call).await {
            failures.push(error);
        }
        progress.send_modify(|p| p.done += 1);
    }
    progress.send_modify(|p| p.running -= 1);
    failures
}

/// What the driver did.
#[derive(Debug, Default)]
struct Driven {
    expiries: u64,
    restarts: u64,
}

/// Injects the events. Each comes `GAP` calls after the previous one, and
/// once every task has started a call since then: a call meets at most two
/// of them (a fault and an expiry, say) besides the seeded background, as
/// faults are rare on a real instance and a token lives for hours. A faulty
/// token PUT fails an attempt of every call waiting for that token.
async fn drive(mock: &MockImds, progress: &watch::Sender<Progress>) -> Driven {
    let mut watch = progress.subscribe();
    let mut driven = Driven::default();
    let mut at = 0;
    for event in schedule() {
        at += GAP;
        let reached = watch
            .wait_for(|p| p.running == 0 || (p.done >= at && p.behind == 0))
            .await
            .expect("the driver holds a sender");
        assert_ne!(reached.running, 0, "the tasks ended before the schedule");
        at = reached.done;
        drop(reached);
        match event {
            Event::Burst(n, status) => mock.fail_next(n, status),
            Event::Drop(n) => mock.drop_next(n),
            Event::Stall(n) => mock.stall_next(n),
            Event::Expire(put_fault) => {
                if let Some(fault) = put_fault {
                    mock.fault_next_token_puts(1, fault);
                }
                mock.advance_clock(TTL);
                driven.expiries += 1;
            }
            Event::Restart => {
                mock.expire_tokens();
                driven.restarts += 1;
            }
        }
        progress.send_modify(|p| {
            p.events += 1;
            p.behind = p.running;
        });
    }
    progress.send_modify(|p| p.finished = true);
    driven
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_client_survives_a_fault_soak() {
    let mock = MockImds::start_default().await.unwrap();
    // The default client; the empty environment only keeps a developer's
    // AWS_* variables out of the test.
    let client = Client::builder()
        .env(Env::from_map::<_, String, String>([]))
        .endpoint(mock.base_url())
        .build()
        .unwrap();
    mock.fail_fraction(0.003, StatusCode::SERVICE_UNAVAILABLE, 7);

    let progress = watch::Sender::new(Progress {
        running: TASKS,
        ..Progress::default()
    });
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        tasks.spawn(calls(client.clone(), task, progress.clone()));
    }
    let soak = async {
        let (driven, results) = tokio::join!(drive(&mock, &progress), tasks.join_all());
        (driven, results.into_iter().flatten().collect::<Vec<_>>())
    };
    let (driven, failures) = tokio::time::timeout(Duration::from_secs(120), soak)
        .await
        .expect("the soak is bounded: it must not hang");

    let calls = progress.borrow().done;
    let stats = mock.stats();
    let unauthorized = mock
        .requests()
        .iter()
        .filter(|r| r.status == Some(StatusCode::UNAUTHORIZED))
        .count();
    let by_status = |code: u16| stats.fault_statuses.get(&code).copied().unwrap_or(0);
    let renewals = driven.expiries + driven.restarts;
    eprintln!(
        "fault soak: {calls} calls by {TASKS} tasks, {} failed; faults injected: {} \
         (500: {}, 503: {}, 429: {}, dropped: {}, stalled: {}); expiries: {} + {} restart; \
         401s: {unauthorized}; token PUTs: {} issued of {} requests; reads: {}",
        failures.len(),
        stats.faults_injected + stats.dropped,
        by_status(500),
        by_status(503),
        by_status(429),
        stats.dropped,
        stats.unanswered,
        driven.expiries,
        driven.restarts,
        stats.token_puts,
        stats.token_requests,
        stats.reads,
    );

    assert!(failures.is_empty(), "failed calls: {failures:#?}");
    assert!(calls >= TASKS * CALLS_PER_TASK, "{calls}");
    // Every kind of fault was met.
    for code in [500, 503, 429] {
        assert!(by_status(code) > 0, "no {code} injected: {stats:?}");
    }
    assert!(stats.dropped > 0 && stats.unanswered > 0, "{stats:?}");
    assert!(
        stats.token_requests >= stats.token_puts + 3,
        "the dropped, stalled and refused token PUTs: {stats:?}"
    );
    assert!(unauthorized > 0, "no expired token was ever sent");
    // One token at the start, then one per expiry: no stampede (each
    // expiry is followed by reads, so each costs one new token).
    assert_eq!(renewals, 5);
    assert!(
        (renewals + 1..=renewals + 2).contains(&stats.token_puts),
        "{} tokens issued for {renewals} expiries",
        stats.token_puts
    );
}
