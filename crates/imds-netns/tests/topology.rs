//! The networks do what they claim, and leave nothing behind.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use imds_netns::{Ec2, IMDS_IPV4, IMDS_IPV6, Netns, OffEc2, imds_addrs, run, skipped, sweep};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

/// Longer than any answer inside the namespaces takes.
const SILENCE: Duration = Duration::from_millis(300);

fn exists(netns: &Netns) -> bool {
    Path::new("/run/netns").join(netns.name()).exists()
}

/// Echoes one byte per connection.
async fn echo(listener: TcpListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut byte = [0];
            if stream.read_exact(&mut byte).await.is_ok() {
                let _ = stream.write_all(&byte).await;
            }
        });
    }
}

async fn round_trip(to: SocketAddr) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(to).await?;
    stream.write_all(b"x").await?;
    let mut byte = [0];
    stream.read_exact(&mut byte).await?;
    assert_eq!(&byte, b"x");
    Ok(())
}

#[test]
fn the_container_reaches_imds_through_the_router_until_it_drops_an_address() {
    if skipped("the_container_reaches_imds_through_the_router_until_it_drops_an_address") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        for addr in imds_addrs() {
            tokio::spawn(echo(TcpListener::bind(addr).await.unwrap()));
        }
        // From the instance and from the container, both addresses.
        for addr in imds_addrs() {
            round_trip(addr).await.unwrap();
        }
        ec2.container.enter().unwrap();
        for addr in imds_addrs() {
            round_trip(addr).await.unwrap();
        }
        // A dead address is silent: no answer, no error.
        ec2.drop_at_router(IMDS_IPV4).unwrap();
        let v4 = SocketAddr::new(IMDS_IPV4, 80);
        assert!(timeout(SILENCE, round_trip(v4)).await.is_err());
        round_trip(SocketAddr::new(IMDS_IPV6, 80)).await.unwrap();
        ec2.drop_at_router(IMDS_IPV6).unwrap();
        assert!(
            timeout(SILENCE, round_trip(SocketAddr::new(IMDS_IPV6, 80)))
                .await
                .is_err()
        );
    });
    let namespaces = [&ec2.instance, &ec2.router, &ec2.container];
    assert!(namespaces.iter().all(|netns| exists(netns)));
    let names: Vec<String> = namespaces.iter().map(|n| n.name().to_owned()).collect();
    drop(ec2);
    for name in names {
        assert!(!Path::new("/run/netns").join(&name).exists(), "{name}");
    }
}

#[test]
fn off_ec2_no_route_fails_at_once_and_the_black_hole_is_silent() {
    if skipped("off_ec2_no_route_fails_at_once_and_the_black_hole_is_silent") {
        return;
    }
    let no_route = OffEc2::no_route().unwrap();
    let black_hole = OffEc2::black_hole().unwrap();
    assert!(!no_route.is_black_hole() && black_hole.is_black_hole());
    run(|| async {
        no_route.host.enter().unwrap();
        for addr in imds_addrs() {
            let start = Instant::now();
            let error = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(
                error.kind(),
                ErrorKind::NetworkUnreachable,
                "{addr}: {error}"
            );
            // At once, not after a timeout (a shared machine may be slow:
            // the bound is loose).
            assert!(start.elapsed() < Duration::from_secs(1), "{addr}");
        }
        black_hole.host.enter().unwrap();
        for addr in imds_addrs() {
            assert!(
                timeout(SILENCE, TcpStream::connect(addr)).await.is_err(),
                "{addr}: an answer or an error from the black hole"
            );
        }
    });
}

#[test]
fn a_panic_inside_still_deletes_the_namespaces() {
    if skipped("a_panic_inside_still_deletes_the_namespaces") {
        return;
    }
    let mut name = String::new();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let off = OffEc2::black_hole().unwrap();
        name = off.host.name().to_owned();
        run(|| async {
            off.host.enter().unwrap();
            panic!("a failing test");
        })
    }));
    assert!(panicked.is_err());
    assert!(!name.is_empty());
    assert!(!Path::new("/run/netns").join(&name).exists(), "{name}");
}

#[test]
fn the_sweep_deletes_what_dead_runs_left_and_nothing_else() {
    if skipped("the_sweep_deletes_what_dead_runs_left_and_nothing_else") {
        return;
    }
    // A process that has exited: its pid names a killed run's leftover.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let ip = |args: &[&str]| {
        let status = std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "ip {args:?}");
    };
    let leftover = format!("imds-test-{dead}-0-left");
    ip(&["netns", "add", &leftover]);
    let alive = Netns::new("alive").unwrap();
    sweep();
    let left = Path::new("/run/netns").join(&leftover).exists();
    if left {
        ip(&["netns", "del", &leftover]);
    }
    assert!(!left, "the sweep left {leftover}");
    assert!(exists(&alive), "the sweep deleted a live run's namespace");
}
