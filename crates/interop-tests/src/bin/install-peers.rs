//! Installs the pinned Python and JavaScript SDKs the interop tests run
//! (`peers/`), into the cache the tests read; does nothing when they are
//! there already. CI runs it before `cargo test`, so that a missing
//! registry fails here, with the installer's own message.
//!
//! ```sh
//! cargo run -p interop-tests --bin install-peers
//! ```

#![forbid(unsafe_code)]

use std::process::ExitCode;

use interop_tests::peers::{Peer, Unavailable, cache_dir};

fn main() -> ExitCode {
    let mut failed = false;
    for (name, install) in [
        ("python", Peer::python as fn() -> Result<Peer, Unavailable>),
        ("node", Peer::node),
    ] {
        match install() {
            Ok(peer) => println!("{name}: {}", peer.dir().display()),
            Err(reason) => {
                eprintln!("{name}: {reason}");
                failed = true;
            }
        }
    }
    if failed {
        eprintln!("cache: {}", cache_dir().display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
