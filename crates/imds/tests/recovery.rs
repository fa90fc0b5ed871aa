//! Passing faults of an IMDS that is there: the default client rides them
//! out. (Found by the workspace's fault soak, `tests/fault_soak.rs`.)

mod support;

use std::time::Duration;

use http::StatusCode;
use imds::Error;
use imds_mock::{MockImds, TokenPutFault, TokenReply, defaults};
use support::{builder_for, read_instance_id};

#[tokio::test]
async fn once_imds_has_answered_a_lost_token_request_is_retried_in_probe_mode() {
    let mock = MockImds::start_default().await.unwrap();
    // Probe mode, the default.
    let client = builder_for(&mock)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    read_instance_id(&client).await.unwrap();
    for fault in [TokenPutFault::Drop, TokenPutFault::Stall] {
        mock.expire_tokens();
        mock.fault_next_token_puts(1, fault.clone());
        assert_eq!(
            read_instance_id(&client).await.unwrap(),
            defaults::INSTANCE_ID,
            "{fault:?}"
        );
    }
    let stats = mock.stats();
    assert_eq!((stats.dropped, stats.unanswered), (1, 1));
    assert_eq!(stats.token_puts, 3);
}

#[tokio::test]
async fn before_any_answer_a_lost_token_request_is_still_final_in_probe_mode() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).build().unwrap();
    mock.fault_next_token_puts(1, TokenPutFault::Drop);
    let error = client.instance_id().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert_eq!(mock.stats().token_requests, 1, "one attempt off EC2");
}

#[tokio::test]
async fn a_fresh_token_refused_as_well_is_replaced_again() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).build().unwrap();
    read_instance_id(&client).await.unwrap();
    // The token expires; the one IMDS hands out next is refused as well
    // (as if IMDS restarted again meanwhile).
    mock.expire_tokens();
    mock.fault_next_token_puts(1, TokenPutFault::Reply(TokenReply::new("forgotten")));
    assert_eq!(
        read_instance_id(&client).await.unwrap(),
        defaults::INSTANCE_ID
    );
    let refused = mock
        .requests()
        .iter()
        .filter(|r| r.status == Some(StatusCode::UNAUTHORIZED))
        .count();
    assert_eq!(refused, 2);
    assert_eq!(mock.stats().token_puts, 2);
}

#[tokio::test]
async fn a_token_refused_every_time_fails_within_the_attempts() {
    let mock = MockImds::start_default().await.unwrap();
    let client = builder_for(&mock).attempts(3).build().unwrap();
    read_instance_id(&client).await.unwrap();
    mock.expire_tokens();
    mock.fault_next_token_puts(10, TokenPutFault::Reply(TokenReply::new("forgotten")));
    let error = read_instance_id(&client).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Status {
                status: StatusCode::UNAUTHORIZED,
                ..
            }
        ),
        "{error:?}"
    );
    // The first 401 is the token refresh; then three attempts in all.
    assert_eq!(mock.stats().token_requests - 1, 3);
}
