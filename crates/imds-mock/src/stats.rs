//! What the server saw: counters and a log of requests, with facts about
//! headers (present or not) but never their values, the `User-Agent`
//! aside, which names the caller and is no secret.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use http::{Method, StatusCode};

use crate::sync::lock;

/// How many requests the log keeps; older ones are dropped first.
pub const REQUEST_LOG_CAPACITY: usize = 65_536;

/// A snapshot of the server's counters.
///
/// Requests are counted when they arrive, whatever happens to them next
/// (answered, failed by a fault, dropped, left unanswered).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Token PUTs answered 200 (tokens issued).
    pub token_puts: u64,
    /// Requests to `/latest/api/token`, any method, any outcome.
    pub token_requests: u64,
    /// GET and HEAD requests to any other path.
    pub reads: u64,
    /// Requests whose connection was closed without a response (`drop_next`).
    pub dropped: u64,
    /// Requests answered by a fault instead of normally (`fail_next`,
    /// `fail_fraction`, `redirect_next`, `fault_next_token_puts`) or left
    /// unanswered (`stall_next`, `set_token_put_unanswered`).
    pub faults_injected: u64,
    /// Requests answered by a fault, per status sent (`503`, `307`, `200`
    /// for a token reply, ...).
    pub fault_statuses: BTreeMap<u16, u64>,
    /// Requests left unanswered by a fault (`stall_next`,
    /// `set_token_put_unanswered`).
    pub unanswered: u64,
    /// Requests per path (query excluded).
    pub per_path: BTreeMap<String, u64>,
}

impl Stats {
    /// How many requests, of any method, arrived for `path` (`/latest/...`).
    pub fn path_count(&self, path: &str) -> u64 {
        self.per_path.get(path).copied().unwrap_or(0)
    }
}

/// One request as the server saw it. Holds facts, not header values (the
/// `User-Agent` aside): a token never ends up in a test's output through
/// this type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The request method.
    pub method: Method,
    /// The request path as sent (repeated slashes kept), without the query.
    pub path: String,
    /// Whether `X-aws-ec2-metadata-token` was present (valid or not).
    pub has_token: bool,
    /// Whether `X-aws-ec2-metadata-token-ttl-seconds` was present.
    pub has_ttl: bool,
    /// Whether `X-Forwarded-For` was present.
    pub has_forwarded_for: bool,
    /// The `User-Agent`, when there was one (as text, invalid UTF-8
    /// replaced): who sent the request.
    pub user_agent: Option<String>,
    /// The status sent; `None` when no response was sent (dropped,
    /// unanswered, or the server shut down first).
    pub status: Option<StatusCode>,
}

#[derive(Debug, Default)]
struct Records {
    stats: Stats,
    log: VecDeque<RecordedRequest>,
}

/// Shared, lock-protected counters and log.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    records: Mutex<Records>,
}

/// How a request ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Answered {
        token_issued: bool,
        /// The status a fault sent instead of the normal answer.
        by_fault: Option<StatusCode>,
    },
    Dropped,
    Unanswered,
    /// The server shut down while the request waited (latency): log only.
    ShutDown,
}

impl Recorder {
    /// Counts a request on arrival.
    pub(crate) fn arrived(&self, method: &Method, path: &str, is_token_path: bool) {
        let mut records = lock(&self.records);
        let stats = &mut records.stats;
        if is_token_path {
            stats.token_requests += 1;
        } else if method == Method::GET || method == Method::HEAD {
            stats.reads += 1;
        }
        // A path seen before is counted without allocating its key again.
        match stats.per_path.get_mut(path) {
            Some(count) => *count += 1,
            None => {
                stats.per_path.insert(path.to_owned(), 1);
            }
        }
    }

    /// Counts how a request ended and logs it.
    pub(crate) fn ended(&self, request: RecordedRequest, ending: Ending) {
        let mut records = lock(&self.records);
        let stats = &mut records.stats;
        match ending {
            Ending::Answered {
                token_issued,
                by_fault,
            } => {
                stats.token_puts += u64::from(token_issued);
                if let Some(status) = by_fault {
                    stats.faults_injected += 1;
                    *stats.fault_statuses.entry(status.as_u16()).or_default() += 1;
                }
            }
            Ending::Dropped => stats.dropped += 1,
            Ending::Unanswered => {
                stats.faults_injected += 1;
                stats.unanswered += 1;
            }
            Ending::ShutDown => {}
        }
        if records.log.len() == REQUEST_LOG_CAPACITY {
            records.log.pop_front();
        }
        records.log.push_back(request);
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.records).stats.clone()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.records).log.iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.records).log.clear();
    }
}
