//! The `imds-mock` binary at IMDS's real addresses, in network namespaces
//! (`imds_netns`: as root with iproute2; skipped otherwise, a failure when
//! `CI` is set), and its PUT response hop limit on a real route: the
//! answer to a token PUT dies at the router with `--hop-limit 1`, and gets
//! through with 2.

mod common;

use std::time::Duration;

use common::{BIN, next_line};
use http::{Method, StatusCode};
use imds_mock::{TTL_HEADER, defaults};
use imds_netns::{Ec2, Netns, run, skipped};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// Far longer than an answer takes inside the namespaces (well under
/// 10 ms), far shorter than any retransmission after a loss (≥ 200 ms),
/// which has the same hop limit anyway.
const NO_ANSWER: Duration = Duration::from_millis(500);

/// Starts the binary in `netns` on both IMDS addresses with `args`; returns
/// it and the URLs it printed.
async fn spawn_in(netns: &Netns, args: &[&str]) -> (Child, Vec<String>) {
    let (child, mut lines) = common::spawn(
        Command::from(netns.command(BIN))
            .args([
                "--listen",
                "169.254.169.254:80",
                "--listen",
                "[fd00:ec2::254]:80",
            ])
            .args(args),
    );
    let urls = vec![next_line(&mut lines).await, next_line(&mut lines).await];
    (child, urls)
}

/// The token paths IMDS answers: the JavaScript SDK sends the second.
const TOKEN_PATHS: [&str; 2] = ["/latest/api/token", "//latest/api/token"];

async fn put_token(url: &str, path: &str) -> Option<StatusCode> {
    let url = format!("{url}{path}");
    let put = common::send(Method::PUT, &url, &[(TTL_HEADER, "60")]);
    Some(timeout(NO_ANSWER, put).await.ok()?.unwrap().status)
}

async fn tokenless_instance_id(url: &str) -> String {
    let reply = common::get_at(url, "/latest/meta-data/instance-id", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{url}");
    reply.text().to_owned()
}

#[test]
fn hop_limit_1_drops_the_put_answer_one_hop_away_and_2_lets_it_through() {
    if skipped("hop_limit_1_drops_the_put_answer_one_hop_away_and_2_lets_it_through") {
        return;
    }
    let ec2 = Ec2::new().unwrap();
    run(|| async {
        let (mut child, urls) = spawn_in(&ec2.instance, &["--hop-limit", "1", "--imdsv1"]).await;
        assert_eq!(
            urls,
            ["http://169.254.169.254:80", "http://[fd00:ec2::254]:80"]
        );
        // From the instance, zero hops: answered.
        ec2.instance.enter().unwrap();
        for url in &urls {
            for path in TOKEN_PATHS {
                assert_eq!(
                    put_token(url, path).await,
                    Some(StatusCode::OK),
                    "{url}{path}"
                );
            }
        }
        // From the container, one hop: the PUT's answer never arrives,
        // however the path is written; other answers do.
        ec2.container.enter().unwrap();
        for url in &urls {
            for path in TOKEN_PATHS {
                assert_eq!(
                    put_token(url, path).await,
                    None,
                    "{url}{path}: the PUT was answered"
                );
            }
            assert_eq!(tokenless_instance_id(url).await, defaults::INSTANCE_ID);
        }
        child.kill().await.unwrap();

        let (mut child, urls) = spawn_in(&ec2.instance, &["--hop-limit", "2"]).await;
        for url in &urls {
            for path in TOKEN_PATHS {
                assert_eq!(
                    put_token(url, path).await,
                    Some(StatusCode::OK),
                    "{url}{path}"
                );
            }
        }
        child.kill().await.unwrap();
    });
}
