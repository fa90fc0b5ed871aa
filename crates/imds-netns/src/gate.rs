//! Whether namespace tests can run here, and the skip rule: a test that
//! cannot run says why on stderr, and when `CI` is set that is a failure,
//! so CI never passes without running them.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use crate::namespace::{Netns, ip_program, sweep};

/// Why namespace tests cannot run in this process, or `None` when they
/// can. Checked once per process: root, `ip` installed, IPv6 enabled, and
/// a namespace can really be made. The first check also sweeps what killed
/// runs left behind.
pub fn unavailable() -> Option<&'static str> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON.get_or_init(check).as_deref()
}

fn check() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not running as root (network namespaces need it)".to_owned());
    }
    if ip_program().is_none() {
        return Some("`ip` (iproute2) is not installed".to_owned());
    }
    if !Path::new("/proc/sys/net/ipv6").is_dir() {
        return Some("IPv6 is disabled in this kernel".to_owned());
    }
    sweep();
    match Netns::new("probe") {
        Ok(_probe) => None,
        Err(error) => Some(format!("cannot create a network namespace: {error}")),
    }
}

/// For the first line of a namespace test: `true` (and a line on stderr
/// saying why) when it cannot run here, so the test returns early.
///
/// # Panics
///
/// When it cannot run and the environment variable `CI` is set: in CI a
/// skip is a failure.
pub fn skipped(test: &str) -> bool {
    let Some(reason) = unavailable() else {
        return false;
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run: {reason}; CI is set, where namespace tests must run (as root, with iproute2)"
    );
    // Straight to the stderr handle: the test harness captures `eprintln!`
    // of passing tests, and a skip must show.
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
    true
}
