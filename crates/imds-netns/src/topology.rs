//! The networks the tests need: an EC2 instance with a container one
//! router hop away ([`Ec2`]), and machines off EC2 ([`OffEc2`]).
//!
//! ```text
//!  container            router (forwards)          instance
//!  eth0 10.200.1.2  ──  c0 10.200.1.1             IMDS on lo: 169.254.169.254
//!       fd00:1::2          fd00:1::1                          fd00:ec2::254
//!                       i0 10.200.2.1        ──  eth0 10.200.2.2
//!                          fd00:2::1                  fd00:2::2
//! ```
//!
//! The addresses are private to the namespaces, so they cannot clash with
//! the machine's.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::namespace::{Netns, veth};

/// IMDS's IPv4 address.
pub const IMDS_IPV4: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));
/// IMDS's IPv6 address (Nitro instances).
pub const IMDS_IPV6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254));

/// Where IMDS listens: port 80 of both addresses.
pub fn imds_addrs() -> [SocketAddr; 2] {
    [
        SocketAddr::new(IMDS_IPV4, 80),
        SocketAddr::new(IMDS_IPV6, 80),
    ]
}

/// `ADDR/32` or `ADDR/128`.
fn host_route(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(_) => format!("{addr}/32"),
        IpAddr::V6(_) => format!("{addr}/128"),
    }
}

/// An instance that holds IMDS's addresses (start the server there), and
/// a container one router hop away from it, as behind Docker's bridge:
/// every packet between them passes the router, which lowers its TTL /
/// hop limit by one.
#[derive(Debug)]
pub struct Ec2 {
    /// The instance: `169.254.169.254` and `fd00:ec2::254` are its own
    /// (on its loopback), so from here IMDS is zero hops away.
    pub instance: Netns,
    /// Forwards between the two; reach IMDS through it.
    pub router: Netns,
    /// One router hop from IMDS.
    pub container: Netns,
}

impl Ec2 {
    /// Builds the three namespaces and their links.
    pub fn new() -> io::Result<Self> {
        let instance = Netns::new("inst")?;
        let router = Netns::new("rtr")?;
        let container = Netns::new("ctr")?;
        router.set_sysctl("net/ipv4/ip_forward", "1")?;
        router.set_sysctl("net/ipv6/conf/all/forwarding", "1")?;
        veth(&container, "eth0", &router, "c0")?;
        veth(&instance, "eth0", &router, "i0")?;
        for (netns, device, addrs) in [
            (&container, "eth0", ["10.200.1.2/24", "fd00:1::2/64"]),
            (&router, "c0", ["10.200.1.1/24", "fd00:1::1/64"]),
            (&router, "i0", ["10.200.2.1/24", "fd00:2::1/64"]),
            (&instance, "eth0", ["10.200.2.2/24", "fd00:2::2/64"]),
        ] {
            for addr in addrs {
                netns.ip(&["addr", "add", addr, "dev", device])?;
            }
        }
        for imds in [IMDS_IPV4, IMDS_IPV6] {
            instance.ip(&["addr", "add", &host_route(imds), "dev", "lo"])?;
        }
        for (netns, v4, v6) in [
            (&container, "10.200.1.1", "fd00:1::1"),
            (&instance, "10.200.2.1", "fd00:2::1"),
        ] {
            netns.ip(&["route", "add", "default", "via", v4])?;
            netns.ip(&["-6", "route", "add", "default", "via", v6])?;
        }
        router.ip(&["route", "add", &host_route(IMDS_IPV4), "via", "10.200.2.2"])?;
        router.ip(&[
            "-6",
            "route",
            "add",
            &host_route(IMDS_IPV6),
            "via",
            "fd00:2::2",
        ])?;
        Ok(Self {
            instance,
            router,
            container,
        })
    }

    /// From now on the router silently discards packets to `imds` (one of
    /// IMDS's addresses): seen from the container, that address is dead,
    /// with no answer and no error. From the instance it still works.
    pub fn drop_at_router(&self, imds: IpAddr) -> io::Result<()> {
        let family = if imds.is_ipv4() { "-4" } else { "-6" };
        self.router
            .ip(&[family, "route", "replace", "blackhole", &host_route(imds)])
    }
}

/// A machine off EC2: nothing answers at IMDS's addresses.
#[derive(Debug)]
pub struct OffEc2 {
    /// Where the client runs.
    pub host: Netns,
    /// The black hole's far side, when there is one.
    void: Option<Netns>,
}

impl OffEc2 {
    /// A host with no route at all but its loopback: a connection to IMDS
    /// fails at once (network unreachable).
    pub fn no_route() -> io::Result<Self> {
        Ok(Self {
            host: Netns::new("noroute")?,
            void: None,
        })
    }

    /// A host whose default routes lead to a neighbour that discards every
    /// packet silently: a connection to IMDS gets no answer and no error,
    /// as behind a firewall that drops, until the client gives up.
    pub fn black_hole() -> io::Result<Self> {
        let host = Netns::new("hole")?;
        let void = Netns::new("void")?;
        veth(&host, "eth0", &void, "v0")?;
        for (netns, device, addrs) in [
            (&host, "eth0", ["10.200.3.2/24", "fd00:3::2/64"]),
            (&void, "v0", ["10.200.3.1/24", "fd00:3::1/64"]),
        ] {
            for addr in addrs {
                netns.ip(&["addr", "add", addr, "dev", device])?;
            }
        }
        host.ip(&["route", "add", "default", "via", "10.200.3.1"])?;
        host.ip(&["-6", "route", "add", "default", "via", "fd00:3::1"])?;
        // The neighbour answers ARP and neighbour solicitations (so the
        // host sends), then discards what is not its own without a word.
        void.ip(&["route", "add", "blackhole", "default"])?;
        void.ip(&["-6", "route", "add", "blackhole", "default"])?;
        Ok(Self {
            host,
            void: Some(void),
        })
    }

    /// Whether packets vanish here ([`black_hole`](Self::black_hole)) rather
    /// than fail at once ([`no_route`](Self::no_route)).
    pub fn is_black_hole(&self) -> bool {
        self.void.is_some()
    }
}
