//! One network namespace ([`Netns`]), veth pairs between two of them, and
//! the sweep of namespaces that killed runs left.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// Every namespace this crate makes is named `PREFIX PID-N-ROLE`.
const PREFIX: &str = "imds-test-";
/// Where `ip netns` keeps its namespaces.
const NETNS_DIR: &str = "/run/netns";

/// A network namespace of this test run, deleted on drop.
///
/// It starts with its loopback up and IPv6 duplicate address detection
/// off (an address is usable at once, not a second later).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Makes a namespace named after `role` (a few letters: it shows in
    /// `ip netns list`), unique to this process.
    pub fn new(role: &str) -> io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{PREFIX}{}-{}-{role}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name])?;
        // From here on, dropping `netns` deletes it.
        let netns = Self { name };
        for key in [
            "net/ipv6/conf/all/accept_dad",
            "net/ipv6/conf/default/accept_dad",
        ] {
            netns.set_sysctl(key, "0")?;
        }
        netns.ip(&["link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// Its name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS`.
    pub fn ip(&self, args: &[&str]) -> io::Result<()> {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Moves the calling thread into this namespace: sockets it makes from
    /// now on are in here (those made before stay where they were). Use it
    /// on a thread of your own, such as [`run`](crate::run)'s, never on a
    /// thread you do not own.
    pub fn enter(&self) -> io::Result<()> {
        let file = File::open(Path::new(NETNS_DIR).join(&self.name))?;
        move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))?;
        Ok(())
    }

    /// Writes `value` to `/proc/sys/KEY` in this namespace
    /// (`net/ipv4/ip_forward`, ...).
    pub fn set_sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    self.enter()?;
                    fs::write(Path::new("/proc/sys").join(key), value)
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// `ip netns exec NAME PROGRAM`: a command that runs `program` in this
    /// namespace. Add its arguments and environment as usual; `program`
    /// is best given as an absolute path, since the environment may be
    /// cleared.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(ip_program().unwrap_or(Path::new("ip")));
        command
            .args(["netns", "exec", &self.name])
            .arg(program)
            .stdin(Stdio::null());
        command
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Devices inside go with it (both ends of its veths are in
        // namespaces of this run). Sockets still open in it keep it alive,
        // unnamed and unreachable, until they close.
        if let Err(error) = ip(&["netns", "del", &self.name]) {
            eprintln!("imds-netns: cannot delete namespace {}: {error}", self.name);
        }
    }
}

/// A veth pair: an interface `a_name` in `a`, its peer `b_name` in `b`,
/// both up. Interface names need only be unique within their namespace.
pub fn veth(a: &Netns, a_name: &str, b: &Netns, b_name: &str) -> io::Result<()> {
    a.ip(&[
        "link", "add", a_name, "type", "veth", "peer", "name", b_name, "netns", &b.name,
    ])?;
    a.ip(&["link", "set", a_name, "up"])?;
    b.ip(&["link", "set", b_name, "up"])
}

/// Deletes the namespaces of this crate's naming whose process is gone
/// (a run that was killed before its drops ran). [`unavailable`](crate::unavailable)
/// does it once per process.
pub fn sweep() {
    let Ok(entries) = fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            // Another run may be sweeping it too: not an error.
            let _ = ip(&["netns", "del", &name]);
        }
    }
}

/// The `ip` program: the first on `PATH`, else in the sbin directories
/// (which a non-login root shell may not have on `PATH`).
pub(crate) fn ip_program() -> Option<&'static Path> {
    static IP: OnceLock<Option<PathBuf>> = OnceLock::new();
    IP.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
            .map(|dir| dir.join("ip"))
            .find(|candidate| candidate.is_file())
    })
    .as_deref()
}

/// Runs `ip ARGS`; its stderr is the error when it fails.
fn ip(args: &[&str]) -> io::Result<()> {
    let program = ip_program().ok_or_else(|| io::Error::other("`ip` is not installed"))?;
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
