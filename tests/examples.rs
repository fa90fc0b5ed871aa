//! The examples, run as tests against the embedded mock.

#[path = "../examples/quickstart.rs"]
mod quickstart;

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
