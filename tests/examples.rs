//! The examples, run as tests against the embedded mock.

#[path = "../examples/quickstart.rs"]
mod quickstart;

#[path = "../examples/spot_drain.rs"]
mod spot_drain;

use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn quickstart_reads_values_with_one_token() {
    let mock = imds_mock::MockImds::start_default().await.unwrap();
    let summary = quickstart::run(&mock.base_url()).await.unwrap();

    assert_eq!(summary.values.len(), 4);
    assert!(summary.values[0].1.starts_with("i-"), "{summary:?}");
    assert!(summary.values.iter().all(|(_, v)| !v.is_empty()));
    assert!(summary.one_token);
    assert_eq!(
        mock.stats().token_puts,
        1,
        "the second layer reused the token"
    );
}

#[tokio::test(start_paused = true)]
async fn spot_drain_waits_for_the_notice_then_drains_before_the_deadline() {
    let mock = Arc::new(imds_mock::MockImds::start_default().await.unwrap());
    spot_drain::announce_spot_termination(Arc::clone(&mock), Duration::from_secs(3));
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(mock.base_url())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let drained = spot_drain::run(&client).await.unwrap();

    let imds::events::Interruption::Spot(action) = &drained.interruption else {
        panic!("{drained:?}");
    };
    assert_eq!(action.action, "terminate");
    // Seen at the first poll after the notice (5 s apart, plus jitter),
    // then one job finished.
    let seen_and_drained = started.elapsed();
    assert!(
        seen_and_drained >= Duration::from_secs(5)
            && seen_and_drained <= Duration::from_millis(5_500) + spot_drain::JOB,
        "{seen_and_drained:?}"
    );
    assert!(drained.jobs_done >= 2, "{drained:?}");
    let left = drained.time_left.expect("a Spot notice has a deadline");
    assert!(
        left > spot_drain::MARGIN && left < Duration::from_secs(120),
        "{left:?}"
    );
    // The watch stopped with the wait.
    let reads = mock.stats().reads;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(mock.stats().reads, reads);
}
