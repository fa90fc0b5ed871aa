//! Property tests of the parsers of IMDS answers and of the config file:
//! none panics on any input, valid input parses back to what it was made
//! from, and invalid input is a typed error. The same parsers are fuzzed
//! by the targets in `fuzz/` at the workspace root; `seeds` replays their
//! seed corpora here, so the committed seeds are a cheap regression guard.

mod credentials;
mod document;
mod huge;
mod listing;
mod seeds;

use proptest::test_runner::Config;

/// Few cases per property: the whole binary runs in about a second. The
/// fuzzers are where long runs happen.
pub(crate) fn config() -> Config {
    Config {
        cases: 128,
        // No `proptest-regressions/` files: a failure is turned into a
        // unit test by hand.
        failure_persistence: None,
        ..Config::default()
    }
}
