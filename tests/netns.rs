//! The client, the layer and the quickstart on a real network, in network
//! namespaces (`imds-netns`): IMDS at its default addresses
//! (`169.254.169.254`, `[fd00:ec2::254]`, port 80) in an "instance", a
//! "container" one router hop away, and hosts off EC2 (no route; a black
//! hole). As root with iproute2; each test says it is skipped otherwise,
//! and fails instead when `CI` is set.
//!
//! Every client here has its defaults: no endpoint and an empty
//! environment (no `HOME`, so no config file), so it goes where a client
//! on EC2 goes.

#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use imds::config::EndpointMode;
use imds::error::{HOP_LIMIT_HINT, UNREACHABLE_HINT};
use imds::{Client, Env, Error};
use imds_mock::{Config, MockImds, defaults};
use imds_netns::{Ec2, IMDS_IPV4, IMDS_IPV6, OffEc2, imds_addrs, run, skipped};
use tokio::time::Instant;
use tower::{BoxError, Layer, ServiceExt};
use tower_imds::{ImdsV2Layer, get_metadata_token};

const V4: &str = "http://169.254.169.254";
const V6: &str = "http://[fd00:ec2::254]";
const INSTANCE_ID: &str = "/latest/meta-data/instance-id";
/// The client's default timeout and the layer's default token timeout:
/// the budget off EC2 (probe mode makes one attempt).
const BUDGET: Duration = Duration::from_secs(1);
/// Scheduling on a loaded machine: what a deadline may be missed by.
const SLACK: Duration = Duration::from_millis(300);
/// "At once": no timer ran out.
const AT_ONCE: Duration = Duration::from_millis(100);

/// The default client, in `mode` (IPv4 is the default mode).
fn default_client(mode: EndpointMode) -> Client {
    Client::builder()
        .env(Env::from_map::<_, String, String>([]))
        .endpoint_mode(mode)
        .build()
        .unwrap()
}

/// A fresh default client's first read of the instance id, and how long
/// it took.
async fn first_read(mode: EndpointMode) -> (Result<String, Error>, Duration) {
    timed(default_client(mode).instance_id()).await
}

/// Starts the mock on both IMDS addresses; the calling thread must be in
/// the instance's namespace.
async fn start_mock(config: Config) -> MockImds {
    config.start_on_all(imds_addrs()).await.unwrap()
}

/// `f`'s output and how long it took.
async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let output = f.await;
    (output, start.elapsed())
}

/// A GET through `layer` over a plain hyper-util client: the body, and
/// whether the response was read with a token.
async fn read_through(layer: ImdsV2Layer, base: &str) -> Result<(String, bool), BoxError> {
    let http = HttpClient::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::get(format!("{base}{INSTANCE_ID}")).body(Empty::new())?;
    let response = layer.layer(http).oneshot(request).await?;
    let with_token = get_metadata_token(&response).is_some();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((String::from_utf8(body.to_vec())?, with_token))
}

/// Asserts a timeout with the hop-limit hint within the budget.
fn assert_silent_failure(what: &str, error: &Error, took: Duration) {
    assert!(
        matches!(error, Error::Timeout { after, .. } if *after == BUDGET),
        "{what}: {error:?}"
    );
    assert!(
        error.to_string().contains(HOP_LIMIT_HINT),
        "{what}: {error}"
    );
    assert!(took >= BUDGET && took < BUDGET + SLACK, "{what}: {took:?}");
}

/// Asserts the layer's token timeout, with the hint, within the budget.
fn assert_layer_timed_out(what: &str, error: &BoxError, took: Duration) {
    assert!(
        matches!(
            error.downcast_ref::<tower_imds::Error>(),
            Some(tower_imds::Error::TokenRequestTimedOut { timeout, .. }) if *timeout == BUDGET
        ),
        "{what}: {error:?}"
    );
    assert!(
        error.to_string().contains(HOP_LIMIT_HINT),
        "{what}: {error}"
    );
    assert!(took >= BUDGET && took < BUDGET + SLACK, "{what}: {took:?}");
}

#[test]
fn the_default_client_reads_at_169_254_169_254_from_the_instance_and_the_container() {
    if skipped("the_default_client_reads_at_169_254_169_254_from_the_instance_and_the_container") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let mock = start_mock(Config::default()).await;
        for place in [&ec2.instance, &ec2.container] {
            place.enter().unwrap();
            let client = default_client(EndpointMode::Ipv4);
            assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
            assert_eq!(client.endpoint(), Some(V4));
        }
        assert_eq!((mock.stats().token_puts, mock.stats().reads), (2, 2));
    });
}

#[test]
fn the_quickstart_reads_through_the_layer_at_169_254_169_254() {
    if skipped("the_quickstart_reads_through_the_layer_at_169_254_169_254") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let mock = start_mock(Config::default()).await;
        // `quickstart --endpoint http://169.254.169.254`, from the container.
        ec2.container.enter().unwrap();
        let summary = quickstart::run(V4).await.unwrap();
        assert_eq!(summary.values[0].1, defaults::INSTANCE_ID);
        assert_eq!(summary.values[3].1, defaults::REGION);
        assert!(summary.one_token);
        assert_eq!(mock.stats().token_puts, 1);
    });
}

#[test]
fn ipv6_mode_reads_at_fd00_ec2_254() {
    if skipped("ipv6_mode_reads_at_fd00_ec2_254") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    // Only IPv6 can answer.
    ec2.drop_at_router(IMDS_IPV4).unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let mock = start_mock(Config::default()).await;
        ec2.container.enter().unwrap();
        let client = default_client(EndpointMode::Ipv6);
        assert_eq!(client.instance_id().await.unwrap(), defaults::INSTANCE_ID);
        assert_eq!(client.endpoint(), Some(V6));
        assert_eq!(mock.stats().reads, 1);
    });
}

/// A first read in auto mode from the container with `dead` silently
/// dropped at the router: how long it took, where the client settled, and
/// how long one first read straight to `alive` takes.
fn auto_mode_with_a_dead_address(dead: std::net::IpAddr) -> (Duration, String, Duration) {
    let ec2 = Ec2::new().unwrap();
    ec2.drop_at_router(dead).unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let _mock = start_mock(Config::default()).await;
        ec2.container.enter().unwrap();
        // One round trip: a fresh client's first read (connect, PUT, GET)
        // straight to the live address.
        let alive = if dead == IMDS_IPV4 {
            EndpointMode::Ipv6
        } else {
            EndpointMode::Ipv4
        };
        let (id, round_trip) = first_read(alive).await;
        assert_eq!(id.unwrap(), defaults::INSTANCE_ID);
        let client = default_client(EndpointMode::Auto);
        let (id, took) = timed(client.instance_id()).await;
        assert_eq!(id.unwrap(), defaults::INSTANCE_ID);
        (took, client.endpoint().unwrap().to_owned(), round_trip)
    })
}

#[test]
fn auto_mode_with_ipv4_dead_settles_on_ipv6_after_the_race_delay() {
    if skipped("auto_mode_with_ipv4_dead_settles_on_ipv6_after_the_race_delay") {
        return;
    }
    let (took, endpoint, round_trip) = auto_mode_with_a_dead_address(IMDS_IPV4);
    assert_eq!(endpoint, V6);
    let delay = imds::client::DEFAULT_RACE_DELAY;
    eprintln!("first read {took:?}; race delay {delay:?}, one round trip {round_trip:?}");
    // IPv4 had its head start, got nothing, and IPv6 answered in one
    // round trip.
    assert!(took >= delay, "{took:?}");
    assert!(
        took < delay + round_trip + SLACK,
        "{took:?} (one round trip: {round_trip:?})"
    );
}

#[test]
fn auto_mode_with_ipv6_dead_settles_on_ipv4_before_the_race_delay() {
    if skipped("auto_mode_with_ipv6_dead_settles_on_ipv4_before_the_race_delay") {
        return;
    }
    let (took, endpoint, round_trip) = auto_mode_with_a_dead_address(IMDS_IPV6);
    assert_eq!(endpoint, V4);
    eprintln!("first read {took:?}; one round trip {round_trip:?}");
    // IPv4 answered within its head start: IPv6 was never tried.
    assert!(took < imds::client::DEFAULT_RACE_DELAY, "{took:?}");
}

#[test]
fn off_ec2_with_no_route_the_client_and_the_layer_fail_at_once() {
    if skipped("off_ec2_with_no_route_the_client_and_the_layer_fail_at_once") {
        return;
    }
    let off = OffEc2::no_route().unwrap();
    run(|| async {
        off.host.enter().unwrap();
        for mode in [EndpointMode::Ipv4, EndpointMode::Ipv6, EndpointMode::Auto] {
            let (error, took) = first_read(mode).await;
            let error = error.unwrap_err();
            assert!(
                matches!(error, Error::Unreachable { .. }),
                "{mode}: {error:?}"
            );
            assert!(error.to_string().contains(UNREACHABLE_HINT), "{error}");
            assert!(took < AT_ONCE, "{mode}: {took:?}");
        }
        for base in [V4, V6] {
            let (error, took) = timed(read_through(ImdsV2Layer::new(), base)).await;
            let error = error.unwrap_err();
            assert!(
                matches!(
                    error.downcast_ref::<tower_imds::Error>(),
                    Some(tower_imds::Error::TokenRequestFailed { .. })
                ),
                "{base}: {error:?}"
            );
            assert!(took < AT_ONCE, "{base}: {took:?}");
        }
    });
}

#[test]
fn off_ec2_in_a_black_hole_the_client_and_the_layer_give_up_within_the_budget_with_the_hint() {
    if skipped(
        "off_ec2_in_a_black_hole_the_client_and_the_layer_give_up_within_the_budget_with_the_hint",
    ) {
        return;
    }
    let off = OffEc2::black_hole().unwrap();
    run(|| async {
        off.host.enter().unwrap();
        // All at once: each waits out its own budget.
        let ((v4, v4_took), (v6, v6_took), (layer, layer_took)) = tokio::join!(
            first_read(EndpointMode::Ipv4),
            first_read(EndpointMode::Ipv6),
            timed(read_through(ImdsV2Layer::new(), V4)),
        );
        assert_silent_failure("IPv4", &v4.unwrap_err(), v4_took);
        assert_silent_failure("IPv6", &v6.unwrap_err(), v6_took);
        assert_layer_timed_out("layer", &layer.unwrap_err(), layer_took);
    });
}

#[test]
fn hop_limit_1_loses_the_token_one_hop_away_and_the_layer_falls_back_to_imdsv1() {
    if skipped("hop_limit_1_loses_the_token_one_hop_away_and_the_layer_falls_back_to_imdsv1") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let config = Config::builder()
            .put_response_hop_limit(1)
            .imdsv1_allowed(true)
            .build();
        let mock = start_mock(config).await;
        ec2.container.enter().unwrap();
        let fallback = || ImdsV2Layer::new().fallback_to_imdsv1(true);
        let ((v4, v4_took), (v6, v6_took), v4_layer, v6_layer) = tokio::join!(
            first_read(EndpointMode::Ipv4),
            first_read(EndpointMode::Ipv6),
            read_through(fallback(), V4),
            read_through(fallback(), V6),
        );
        assert_silent_failure("IPv4", &v4.unwrap_err(), v4_took);
        assert_silent_failure("IPv6", &v6.unwrap_err(), v6_took);
        for read in [v4_layer, v6_layer] {
            let (id, with_token) = read.unwrap();
            assert_eq!(id, defaults::INSTANCE_ID);
            assert!(!with_token, "read over IMDSv1");
        }
        // The mock answered four PUTs (none arrived); the only reads were
        // the layers' two, without a token.
        let stats = mock.stats();
        assert_eq!((stats.token_puts, stats.reads), (4, 2));
        assert!(mock.requests().iter().all(|r| !r.has_token));
    });
}

#[test]
fn hop_limit_2_reaches_the_container() {
    if skipped("hop_limit_2_reaches_the_container") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let mock = start_mock(Config::builder().put_response_hop_limit(2).build()).await;
        ec2.container.enter().unwrap();
        reads_with_tokens(&mock).await;
    });
}

#[test]
fn hop_limit_1_reaches_the_instance_itself() {
    if skipped("hop_limit_1_reaches_the_instance_itself") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        ec2.instance.enter().unwrap();
        let mock = start_mock(Config::builder().put_response_hop_limit(1).build()).await;
        reads_with_tokens(&mock).await;
    });
}

/// The default client (IPv4 and IPv6) and the layer read with tokens
/// (IMDSv1 is off).
async fn reads_with_tokens(mock: &MockImds) {
    for mode in [EndpointMode::Ipv4, EndpointMode::Ipv6] {
        let id = default_client(mode).instance_id().await;
        assert_eq!(id.unwrap(), defaults::INSTANCE_ID, "{mode}");
    }
    for base in [V4, V6] {
        let (id, with_token) = read_through(ImdsV2Layer::new(), base).await.unwrap();
        assert_eq!(id, defaults::INSTANCE_ID);
        assert!(with_token, "{base}");
    }
    assert_eq!((mock.stats().token_puts, mock.stats().reads), (4, 4));
}
