//! Tests only: clients written elsewhere, pointed at `imds-mock`, prove the
//! mock behaves like the real service. If a peer and the mock disagree, the
//! mock is wrong. See `tests/`; [`peers`] installs the Python and
//! JavaScript SDKs that some of them run.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod peers;
