//! The parts of the benchmarks that every suite shares: the mock on
//! loopback and the ways of reading from it ([`fixture`]), load generators
//! ([`load`]), interleaved rounds ([`rounds`]), statistics ([`measure`]),
//! Markdown output ([`report`]), and a minimal IMDS-shaped server to
//! calibrate against ([`minimal`]).
//!
//! Two suites stand on it: the `imds-bench` binary of this crate (ours
//! against the bare hyper-util client) and `interop-tests`' `peers` bench
//! (ours against aws-config's IMDS client, which may be compiled only
//! there). See BENCHMARKS.md.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod fixture;
pub mod load;
pub mod measure;
pub mod minimal;
pub mod mode;
pub mod report;
pub mod rounds;

pub use mode::Mode;
