//! A faithful mock of the AWS EC2 Instance Metadata Service (IMDSv2), for
//! tests, examples and benchmarks.
//!
//! It speaks the real wire protocol over real HTTP on loopback: token PUTs
//! with TTL validation (400), the anti-SSRF `X-Forwarded-For` check (403),
//! token-gated reads (401 without, with an unknown or with an expired
//! token), optional IMDSv1, IMDS turned off (403), directory listings,
//! binary user data, an identity document consistent with the meta-data
//! and signed as AWS signs it (`rsa2048`, `signature`, `pkcs7`; see
//! `IdentitySigner`, feature `signing`), and role credentials that rotate
//! (one set for IMDSv1, another for IMDSv2). Responses carry the headers a
//! Nitro instance sends: `Server: EC2ws`, `Connection: close`, the token's
//! remaining TTL, ... Time is tokio's clock, so a test that
//! pauses and advances it moves the mock's time with its client's; tests
//! that do not pause it move one server's time with
//! [`MockImds::advance_clock`]; neither sleeps. Faults (latency,
//! error statuses, dropped connections, stalls, unanswered token PUTs,
//! redirects, malformed token answers, credential error documents, odd
//! listings) are switched on and off at runtime. Interruptions and
//! maintenance (a Spot notice, a rebalance recommendation, scheduled
//! events, the Auto Scaling lifecycle state: see [`Events`]) appear on
//! time and change live, from Rust or, with [`MockImds::serve_control`],
//! over HTTP from any language.
//!
//! ```
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = imds_mock::MockImds::builder()
//!     .max_token_ttl_secs(300)
//!     .tags_enabled(true)
//!     .build()
//!     .start()
//!     .await?;
//! // Point the client under test at `server.base_url()`, then:
//! server.advance_clock(Duration::from_secs(301)); // every token has expired
//! server.fail_next(1, http::StatusCode::SERVICE_UNAVAILABLE);
//! assert_eq!(server.stats().token_puts, 0);
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! No token, credential or user-data value is ever logged or shown by a
//! `Debug` implementation; the request log ([`RecordedRequest`]) records
//! whether headers were present, never what they held (the `User-Agent`
//! aside).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod control;
mod credentials;
mod events;
mod faults;
mod handler;
mod headers;
mod hop_limit;
mod json;
mod live_events;
mod path;
mod random;
mod server;
mod server_clock;
#[cfg(feature = "signing")]
mod signing;
mod stats;
mod sync;
mod token;
mod token_fault;
mod tree;

pub use config::{
    Config, ConfigBuilder, ConfigError, DEFAULT_CREDENTIAL_LIFETIME_SECS, DEFAULT_USER_DATA,
    MAX_PUT_RESPONSE_HOP_LIMIT, PublicKey, UserData,
};
pub use events::{
    AutoScaling, EventError, Events, RebalanceRecommendation, ScheduledEvent, ScheduledEventCode,
    ScheduledEventState, SpotAction, SpotNotice,
};
pub use handler::TOKEN_PATH;
pub use server::MockImds;
#[cfg(feature = "signing")]
pub use signing::{IdentitySigner, SignatureForm, SigningError};
pub use stats::{REQUEST_LOG_CAPACITY, RecordedRequest, Stats};
pub use token::{MAX_TTL_SECS, TOKEN_HEADER, TTL_HEADER};
pub use token_fault::{TokenPutFault, TokenReply};
pub use tree::defaults;
