//! What the layer logs: the endpoint and the events, never the token.

mod support;

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tower_imds::ImdsV2Layer;
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber writes, kept for inspection.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

const SECRET: &str = "AQAEAJ-very-secret-token-value-0123456789abcdefghij==";

#[tokio::test(flavor = "current_thread")]
async fn a_whole_session_logs_events_but_never_the_token() {
    let (captured, _guard) = capture();
    let mock = imds_mock::MockImds::start_default().await.unwrap();
    let base = mock.base_url();
    let imds = ImdsV2Layer::new().layer(support::http_client());
    let mut issued = Vec::new();
    for path in [
        "/latest/meta-data/instance-id",
        "/latest/meta-data/iam/info",
        "/latest/user-data",
    ] {
        let read = support::read(&imds, &base, path).await.unwrap();
        issued.extend(read.token);
    }
    mock.expire_tokens();
    support::read(&imds, &base, "/latest/meta-data/")
        .await
        .unwrap();
    let read = support::read(&imds, &base, "/latest/meta-data/")
        .await
        .unwrap();
    issued.extend(read.token);

    let log = captured.text();
    assert!(log.contains("imds_token_fetch"), "a span per fetch:\n{log}");
    assert!(log.contains("IMDS token cache hit"), "{log}");
    assert!(log.contains("IMDS token cache miss"), "{log}");
    assert!(log.contains("(401)"), "{log}");
    assert!(log.contains(&base), "events name the endpoint");
    assert_eq!(issued.len(), 4);
    for token in issued {
        assert!(
            !log.contains(token.expose_secret()),
            "token leaked into:\n{log}"
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_first_fallback_per_endpoint_warns_once() {
    let (captured, _guard) = capture();
    let (inner, mut handle) =
        tower_test::mock::pair::<Request<Full<Bytes>>, Response<Full<Bytes>>>();
    let svc = ImdsV2Layer::new().fallback_to_imdsv1(true).layer(inner);
    let get = || {
        Request::get("http://127.0.0.1:1338/latest/a")
            .body(Full::default())
            .unwrap()
    };

    for _ in 0..2 {
        let call = tokio::spawn(svc.clone().oneshot(get()));
        let (_, put) = handle.next_request().await.unwrap();
        put.send_response(
            Response::builder()
                .status(404)
                .body(Full::default())
                .unwrap(),
        );
        let (_, read) = handle.next_request().await.unwrap();
        read.send_response(Response::new(Full::default()));
        call.await.unwrap().unwrap();
        // Past the five minutes after which IMDSv2 is tried again.
        tokio::time::advance(Duration::from_secs(301)).await;
    }

    let log = captured.text();
    let warnings = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("falling back to IMDSv1"))
        .count();
    assert_eq!(warnings, 1, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG") && l.contains("falling back to IMDSv1"))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_token_response_is_not_logged_with_its_body() {
    let (captured, _guard) = capture();
    let (inner, mut handle) =
        tower_test::mock::pair::<Request<Full<Bytes>>, Response<Full<Bytes>>>();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(
        svc.oneshot(
            Request::get("http://127.0.0.1:1338/latest/a")
                .body(Full::default())
                .unwrap(),
        ),
    );
    let (_, put) = handle.next_request().await.unwrap();
    // A token with no TTL header: refused, and the body goes nowhere.
    put.send_response(Response::new(Full::new(Bytes::from_static(
        SECRET.as_bytes(),
    ))));
    let err = call.await.unwrap().unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET));
    assert!(!captured.text().contains(SECRET));
}

#[tokio::test(flavor = "current_thread")]
async fn a_password_in_the_request_uri_is_neither_logged_nor_in_errors() {
    let (captured, _guard) = capture();
    let (inner, mut handle) =
        tower_test::mock::pair::<Request<Full<Bytes>>, Response<Full<Bytes>>>();
    let svc = ImdsV2Layer::new().layer(inner);
    let call = tokio::spawn(
        svc.oneshot(
            Request::get("http://user:s3cret@127.0.0.1:1338/latest/a")
                .body(Full::default())
                .unwrap(),
        ),
    );
    let (put, respond) = handle.next_request().await.unwrap();
    // The PUT still goes to the request's own authority.
    assert_eq!(put.uri().authority().unwrap().host(), "127.0.0.1");
    respond.send_response(
        Response::builder()
            .status(503)
            .body(Full::default())
            .unwrap(),
    );
    let err = call.await.unwrap().unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("http://127.0.0.1:1338"), "{shown}");
    let log = captured.text();
    assert!(log.contains("endpoint=http://127.0.0.1:1338"), "{log}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(!log.contains("s3cret"), "{log}");
}
