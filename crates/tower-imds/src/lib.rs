//! Tower middleware for the AWS EC2 Instance Metadata Service, version 2.
//!
//! IMDSv2 wants a session token on every read: `PUT /latest/api/token`
//! first, then send the token as `x-aws-ec2-metadata-token`. [`ImdsV2Layer`]
//! does that for any `Service<http::Request<B>>`: it fetches a token from the
//! same scheme, host and port as the request, caches it (one fetch for any
//! number of concurrent requests), refreshes it before it expires, drops it
//! when IMDS answers 401, and tells you which token a response was read with.
//!
//! ```
//! use bytes::Bytes;
//! use http::Request;
//! use http_body_util::Empty;
//! use hyper_util::{client::legacy::Client, rt::TokioExecutor};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_imds::{ImdsV2Layer, MetadataToken};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower::BoxError> {
//! # let mock = imds_mock::MockImds::start_default().await?;
//! # let imds_url = mock.base_url();
//! let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
//! let imds = ServiceBuilder::new()
//!     .layer(ImdsV2Layer::new())
//!     .service(client);
//!
//! // On EC2, `imds_url` is "http://169.254.169.254".
//! let response = imds
//!     .oneshot(
//!         Request::get(format!("{imds_url}/latest/meta-data/instance-id"))
//!             .body(Empty::new())?,
//!     )
//!     .await?;
//! assert!(response.status().is_success());
//! let token: Option<&MetadataToken> = tower_imds::get_metadata_token(&response);
//! assert!(token.is_some());
//! # Ok(()) }
//! ```
//!
//! # Options
//!
//! | method | default | |
//! |---|---|---|
//! | [`metadata_token`](ImdsV2Layer::metadata_token) | none | use this token; never `PUT` |
//! | [`ttl`](ImdsV2Layer::ttl) | [`TokenTtl::MAX`], 6 h | lifetime asked for |
//! | [`fallback_to_imdsv1`](ImdsV2Layer::fallback_to_imdsv1) | `false` | send without a token when IMDSv2 is unavailable |
//! | [`token_timeout`](ImdsV2Layer::token_timeout) | 1 s | give up on the `PUT` (hop limit) |
//! | [`token_store`](ImdsV2Layer::token_store) | none | keep tokens across processes |
//! | [`user_agent`](ImdsV2Layer::user_agent) | none | tag the `PUT` and requests without a `User-Agent` |
//!
//! A [`MetadataToken`] in a request's extensions is sent instead of the
//! layer's own for that request.
//!
//! # Errors
//!
//! Services fail with [`tower::BoxError`], which is either this crate's
//! [`Error`] or the wrapped service's error, so the layer composes with
//! `tower::timeout`, `tower::retry` (see [`ImdsRetryPolicy`]) and
//! `tower::limit` in any order, and callers can downcast.
//!
//! # Security
//!
//! A token is only ever sent to the endpoint that issued it. The token
//! header is marked sensitive, [`MetadataToken`]'s `Debug` hides it, and
//! tracing events name the endpoint, never the token. The token `PUT` carries
//! nothing of the caller's request (in particular no `X-Forwarded-For`).
//!
//! That holds for what the layer sends; what the service it wraps does with
//! a request is that service's business. A redirect follower inside the
//! layer re-sends the request, token header included, wherever a redirect
//! points (tower-http's `FollowRedirect` drops only `Authorization`,
//! `Cookie` and `Proxy-Authorization` on a cross-origin hop), and follows
//! a redirected token `PUT` too. Put it outside the layer: each hop then
//! goes through the layer and gets its own endpoint's token, and a
//! redirected `PUT` is refused ([`Error::TokenRequestRefused`]). If it must
//! be inside, have it drop every header on cross-origin hops (tower-http:
//! `FilterCredentials::new().remove_all()`). IMDS itself never redirects.
//!
//! # Tracing
//!
//! A `imds_token_fetch` span covers each token request; `debug` events
//! report cache hits, misses, refreshes and fallbacks, and a `warn` event the
//! first fallback to IMDSv1 per endpoint.
//!
//! # Time
//!
//! Token lifetimes are measured on tokio's clock, so `tokio::time::pause`
//! and `advance` drive expiry and refresh in tests. The expiry a
//! [`TokenStore`] keeps is wall time from [`clock::now`], which follows the
//! same clock.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
pub mod clock;
mod config;
mod error;
mod future;
pub mod header;
mod layer;
mod retry;
mod service;
mod store;
mod token;
mod token_endpoint;
mod token_fetch;
mod token_ttl;
mod user_agent;

pub use error::{Error, HOP_LIMIT_HINT, TokenResponseProblem};
pub use future::ResponseFuture;
pub use layer::ImdsV2Layer;
pub use retry::{ImdsRetryPolicy, RetryDelay};
pub use service::ImdsV2;
pub use store::{StoredToken, TokenStore};
pub use token::{InvalidMetadataToken, MetadataToken, get_metadata_token};
pub use token_endpoint::TokenEndpoint;
pub use token_ttl::{InvalidTtl, TokenTtl};
pub use user_agent::{InvalidUserAgent, UserAgent};
