//! The answer to the token `PUT`, whatever it is: the layer succeeds
//! exactly when status, TTL header and body make a valid token response,
//! and otherwise fails with the [`Error`] that says why. Never a panic,
//! never a hang. The inner service plays IMDS in-process.
//!
//! The same check is the `token_response` fuzz target (`fuzz/` at the
//! workspace root); its seed corpus is replayed here.

use std::convert::Infallible;
use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use proptest::prelude::*;
use tokio::runtime::Runtime;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_imds::header::{
    MAX_TTL_SECONDS, TOKEN_PATH, X_AWS_EC2_METADATA_TOKEN, X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
};
use tower_imds::{Error, ImdsV2Layer, InvalidMetadataToken, MetadataToken, TokenResponseProblem};

/// What the fake IMDS answers to the token `PUT`.
#[derive(Debug, Clone)]
struct TokenAnswer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// The token the metadata `GET` arrived with, put in its response.
#[derive(Clone)]
struct SeenToken(Option<HeaderValue>);

/// How the layer must end.
#[derive(Debug, PartialEq)]
enum Outcome<'a> {
    /// The read goes out with this token, or with none (IMDSv1).
    Sent(Option<&'a [u8]>),
    Refused(StatusCode),
    Problem(TokenResponseProblem),
}

/// What the layer must do with `answer`, worked out independently of it.
fn expected(answer: &TokenAnswer, fallback: bool) -> Outcome<'_> {
    if answer.status != StatusCode::OK {
        let unavailable = matches!(
            answer.status,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        );
        return if fallback && unavailable {
            Outcome::Sent(None)
        } else {
            Outcome::Refused(answer.status)
        };
    }
    let Some(ttl) = answer.headers.get(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS) else {
        return Outcome::Problem(TokenResponseProblem::MissingTtl);
    };
    let ttl = ttl.as_bytes();
    let ttl_ok = !ttl.is_empty()
        && ttl.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(ttl)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| (1..=u64::from(MAX_TTL_SECONDS)).contains(&s));
    if !ttl_ok {
        return Outcome::Problem(TokenResponseProblem::InvalidTtl);
    }
    let body = &answer.body[..];
    let invalid = |reason| Outcome::Problem(TokenResponseProblem::InvalidToken(reason));
    if body.len() > MetadataToken::MAX_LEN {
        return Outcome::Problem(TokenResponseProblem::BodyTooLarge);
    }
    if body.is_empty() {
        return invalid(InvalidMetadataToken::Empty);
    }
    if let Some(position) = body.iter().position(|b| !(b'!'..=b'~').contains(b)) {
        return invalid(InvalidMetadataToken::InvalidCharacter { position });
    }
    Outcome::Sent(Some(body))
}

/// Sends one read through a fresh layer over a fake IMDS that answers the
/// `PUT` with `answer`; checks the outcome against [`expected`] and
/// returns it.
fn check<'a>(runtime: &Runtime, answer: &'a TokenAnswer, fallback: bool) -> Outcome<'a> {
    let imds = {
        let answer = answer.clone();
        service_fn(move |request: Request<Full<Bytes>>| {
            let response = if request.method() == Method::PUT {
                assert_eq!(request.uri().path(), TOKEN_PATH);
                let mut response = Response::new(Full::new(answer.body.clone()));
                *response.status_mut() = answer.status;
                *response.headers_mut() = answer.headers.clone();
                response
            } else {
                let seen = request.headers().get(X_AWS_EC2_METADATA_TOKEN).cloned();
                let mut response = Response::new(Full::new(Bytes::from_static(b"i-0123")));
                response.extensions_mut().insert(SeenToken(seen));
                response
            };
            std::future::ready(Ok::<_, Infallible>(response))
        })
    };
    let service = ServiceBuilder::new()
        .layer(ImdsV2Layer::new().fallback_to_imdsv1(fallback))
        .service(imds);
    let request = Request::get("http://127.0.0.1:1338/latest/meta-data/instance-id")
        .body(Full::default())
        .unwrap();
    let got = match runtime.block_on(service.oneshot(request)) {
        Ok(response) => {
            let seen = response.extensions().get::<SeenToken>().unwrap();
            let attached = tower_imds::get_metadata_token(&response);
            assert_eq!(
                attached.map(|t| t.expose_secret().as_bytes()),
                seen.0.as_ref().map(HeaderValue::as_bytes)
            );
            Outcome::Sent(seen.0.as_ref().map(|_| &answer.body[..]))
        }
        Err(error) => match error.downcast_ref::<Error>() {
            Some(Error::TokenRequestRefused { status, .. }) => Outcome::Refused(*status),
            Some(Error::InvalidTokenResponse { problem, .. }) => Outcome::Problem(*problem),
            _ => panic!("unexpected error {error:?}"),
        },
    };
    let want = expected(answer, fallback);
    assert_eq!(got, want, "{answer:?}, fallback {fallback}");
    want
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Bytes a header value may hold: visible ASCII, space, tab and obs-text
/// (which is not UTF-8).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![b' '..=b'~', Just(b'\t'), 0x80..=0xffu8];
    proptest::collection::vec(byte, 0..12)
}

fn ttl() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => "[0-9]{1,6}".prop_map(|s| Some(s.into_bytes())),
        1 => "-?[0-9]{1,3}[.e ]?[0-9]{0,2}".prop_map(|s| Some(s.into_bytes())),
        1 => header_bytes().prop_map(Some),
        1 => Just(None),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => "[!-~]{1,64}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        // Around the size limit, and beyond it.
        1 => (4090..4110usize).prop_map(|len| vec![b'A'; len]),
        1 => Just(vec![b'A'; 1 << 20]),
    ]
}

fn answer() -> impl Strategy<Value = TokenAnswer> {
    let status = prop_oneof![
        3 => Just(200u16),
        1 => proptest::sample::select(&[201u16, 204, 301, 400, 401, 403, 404, 405, 429, 500, 503][..]),
        1 => 100..=999u16,
    ];
    (status, ttl(), body()).prop_map(|(status, ttl, body)| {
        let mut headers = HeaderMap::new();
        if let Some(ttl) = ttl {
            let value = HeaderValue::from_bytes(&ttl).unwrap();
            headers.insert(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS, value);
        }
        TokenAnswer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_token_answer_is_a_token_or_the_error_that_says_why(answer in answer(), fallback: bool) {
        check(&runtime(), &answer, fallback);
    }
}

/// Splits a seed into status, headers and body, as the fuzz target does:
/// a status line, `name: value` lines, an empty line, the body.
fn parse_seed(data: &[u8]) -> TokenAnswer {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let status = StatusCode::from_bytes(lines.next().unwrap().trim_ascii()).unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let colon = line.iter().position(|&b| b == b':').unwrap();
        headers.append(
            HeaderName::from_bytes(line[..colon].trim_ascii()).unwrap(),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii_start()).unwrap(),
        );
    }
    TokenAnswer {
        status,
        headers,
        body: Bytes::copy_from_slice(body),
    }
}

#[test]
fn the_fuzz_seeds_are_tokens_or_refusals_as_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/token_response");
    let runtime = runtime();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.starts_with("seed-") {
            continue;
        }
        let answer = parse_seed(&std::fs::read(&path).unwrap());
        let sent = matches!(check(&runtime, &answer, false), Outcome::Sent(Some(_)));
        assert_eq!(sent, name.starts_with("seed-ok-"), "{name}");
        check(&runtime, &answer, true);
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} seeds in {}", dir.display());
}
