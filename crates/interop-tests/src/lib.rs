//! Tests only: clients written elsewhere, pointed at `imds-mock`, prove the
//! mock behaves like the real service. If a peer and the mock disagree, the
//! mock is wrong. See `tests/`.

#![forbid(unsafe_code)]
