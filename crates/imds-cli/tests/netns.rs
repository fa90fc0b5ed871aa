//! The `imds` binary with no flags on a real network, in network
//! namespaces (`imds-netns`): IMDS at `169.254.169.254` and
//! `[fd00:ec2::254]` in an "instance", a "container" one router hop away,
//! hosts off EC2. As root with iproute2; each test says it is skipped
//! otherwise, and fails instead when `CI` is set.
//!
//! The binary runs under `ip netns exec` in a sandbox (its own HOME, cache
//! and config file) with nothing else in its environment: no endpoint is
//! set anywhere, so it goes where it would on EC2.

mod support;

use std::time::Duration;

use imds::error::{HOP_LIMIT_HINT, UNREACHABLE_HINT};
use imds_mock::{Config, MockImds, defaults};
use imds_netns::{Ec2, Netns, OffEc2, imds_addrs, run, skipped};
use support::{Run, Sandbox};
use tokio::time::Instant;

const GET_ID: [&str; 2] = ["get", "meta-data/instance-id"];
/// The default timeout: the budget when IMDS is silent (one attempt).
const BUDGET: Duration = Duration::from_secs(1);
/// Starting the binary, and scheduling on a loaded machine.
const SLACK: Duration = Duration::from_millis(500);
/// The exit code for IMDS disabled or unreachable.
const UNAVAILABLE: i32 = 4;

/// Runs `imds ARGS` in `netns` in `sandbox`, with `env` only; returns the
/// run and how long it took.
async fn imds_in(
    netns: &Netns,
    sandbox: &Sandbox,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Run, Duration) {
    let start = Instant::now();
    let output = sandbox
        .isolated(netns.command(env!("CARGO_BIN_EXE_imds")).into())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("ip netns exec runs");
    (Run::from(output), start.elapsed())
}

/// The IPv6 endpoint mode, from the environment.
const IPV6: &[(&str, &str)] = &[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")];

/// Starts the mock on both IMDS addresses in `instance`; the calling
/// thread is left there.
async fn start_mock(instance: &Netns, config: Config) -> MockImds {
    instance.enter().unwrap();
    config.start_on_all(imds_addrs()).await.unwrap()
}

#[test]
fn imds_with_no_flags_reads_at_the_default_addresses() {
    if skipped("imds_with_no_flags_reads_at_the_default_addresses") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    let sandbox = Sandbox::new();
    run(|| async {
        let mock = start_mock(&ec2.instance, Config::default()).await;
        for place in [&ec2.instance, &ec2.container] {
            for env in [&[][..], IPV6] {
                let (run, _) = imds_in(place, &sandbox, &GET_ID, env).await;
                assert_eq!(run.ok().stdout_text(), defaults::INSTANCE_ID);
            }
        }
        assert_eq!(mock.stats().reads, 4);
    });
}

#[test]
fn off_ec2_imds_exits_4_at_once_without_a_route_and_within_its_budget_in_a_black_hole() {
    if skipped("off_ec2_imds_exits_4_at_once_without_a_route_and_within_its_budget_in_a_black_hole")
    {
        return;
    }
    let no_route = OffEc2::no_route().unwrap();
    let black_hole = OffEc2::black_hole().unwrap();
    let sandbox = Sandbox::new();
    run(|| async {
        let ((unreachable, unreachable_took), (silent, silent_took)) = tokio::join!(
            imds_in(&no_route.host, &sandbox, &GET_ID, &[]),
            imds_in(&black_hole.host, &sandbox, &GET_ID, &[]),
        );
        let unreachable = unreachable.fails(UNAVAILABLE);
        assert!(
            unreachable.stderr.contains(UNREACHABLE_HINT),
            "{unreachable:?}"
        );
        assert!(unreachable_took < SLACK, "{unreachable_took:?}");
        let silent = silent.fails(UNAVAILABLE);
        assert!(silent.stderr.contains(HOP_LIMIT_HINT), "{silent:?}");
        assert!(
            silent_took >= BUDGET && silent_took < BUDGET + SLACK,
            "{silent_took:?}"
        );
    });
}

#[test]
fn hop_limit_1_one_hop_away_exits_4_with_the_hint() {
    if skipped("hop_limit_1_one_hop_away_exits_4_with_the_hint") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    let sandbox = Sandbox::new();
    run(|| async {
        let config = Config::builder().put_response_hop_limit(1).build();
        let mock = start_mock(&ec2.instance, config).await;
        let ((v4, v4_took), (v6, v6_took)) = tokio::join!(
            imds_in(&ec2.container, &sandbox, &GET_ID, &[]),
            imds_in(&ec2.container, &sandbox, &GET_ID, IPV6),
        );
        for (run, took) in [(v4, v4_took), (v6, v6_took)] {
            let run = run.fails(UNAVAILABLE);
            assert!(run.stderr.contains(HOP_LIMIT_HINT), "{run:?}");
            assert!(took >= BUDGET && took < BUDGET + SLACK, "{took:?}");
        }
        // Both PUTs were answered, and both answers died at the router.
        assert_eq!((mock.stats().token_puts, mock.stats().reads), (2, 0));
    });
}

#[test]
fn hop_limit_2_one_hop_away_reads() {
    if skipped("hop_limit_2_one_hop_away_reads") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    let sandbox = Sandbox::new();
    run(|| async {
        let config = Config::builder().put_response_hop_limit(2).build();
        let _mock = start_mock(&ec2.instance, config).await;
        for env in [&[][..], IPV6] {
            let (run, _) = imds_in(&ec2.container, &sandbox, &GET_ID, env).await;
            assert_eq!(run.ok().stdout_text(), defaults::INSTANCE_ID);
        }
    });
}
