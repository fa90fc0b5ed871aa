//! Unpublished package that owns the workspace's runnable `examples/` and
//! cross-crate `tests/`. It has no API of its own.
#![forbid(unsafe_code)]
