//! Network namespaces for tests: a real network where IMDS lives at its
//! default addresses, `169.254.169.254` and `[fd00:ec2::254]`, and machines
//! where it does not.
//!
//! Linux only, as root, with iproute2's `ip`. Every namespace a test
//! builds is its own (named `imds-test-PID-N-ROLE`), and so is every veth
//! pair: both ends live in the test's namespaces, so the machine's own
//! network is never touched and no packet leaves the namespaces. Each
//! [`Netns`] is deleted when dropped (a failing test unwinds through the
//! drop too); namespaces left by a killed run are swept, by the next run
//! of any test that uses this crate, once their process is gone.
//!
//! Code runs inside a namespace on an OS thread of its own
//! ([`run`]: a current-thread tokio runtime), which moves itself into a
//! namespace with [`Netns::enter`]. A socket belongs to the namespace its
//! thread was in when the socket was made, so one thread can start a
//! server in one namespace and then be a client in another. Programs run
//! under `ip netns exec` ([`Netns::command`]).
//!
//! ```no_run
//! use imds_netns::{Ec2, run, skipped};
//!
//! # fn test() -> std::io::Result<()> {
//! if skipped("a_container_reads_imds") {
//!     return Ok(()); // not root, or no `ip`; a failure when CI is set
//! }
//! let ec2 = Ec2::new()?;
//! run(|| async {
//!     ec2.instance.enter()?;
//!     // start a server on 169.254.169.254:80 here, then:
//!     ec2.container.enter()?;
//!     // connect to it from one router hop away.
//!     Ok(())
//! })
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod gate;
mod namespace;
mod run;
mod topology;

pub use gate::{skipped, unavailable};
pub use namespace::{Netns, sweep, veth};
pub use run::run;
pub use topology::{Ec2, IMDS_IPV4, IMDS_IPV6, OffEc2, imds_addrs};
