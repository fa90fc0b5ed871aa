//! The answer to the token `PUT`, through `ImdsV2Layer` over an in-process
//! service that plays IMDS: whatever the status, TTL header and body, the
//! layer succeeds exactly when they make a valid token response, and
//! otherwise fails with the `tower_imds::Error` that says why.
//!
//! Input: a status line, header lines and a body, HTTP-like:
//!
//! ```text
//! 200
//! x-aws-ec2-metadata-token-ttl-seconds: 21600
//!
//! AQAEAKnFwz5Dqk5LwU6ZBwZmS0vKbQ==
//! ```
//!
//! Each input runs twice, without and with `fallback_to_imdsv1`. Bodies
//! longer than `MetadataToken::MAX_LEN` need `-max_len` above 4096.

#![no_main]
#![forbid(unsafe_code)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{Empty, Full};
use libfuzzer_sys::fuzz_target;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_imds::header::{
    MAX_TTL_SECONDS, TOKEN_PATH, X_AWS_EC2_METADATA_TOKEN, X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
};
use tower_imds::{Error, ImdsV2Layer, InvalidMetadataToken, MetadataToken, TokenResponseProblem};

/// What the fake IMDS answers to the token `PUT`.
#[derive(Clone)]
struct TokenAnswer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// The token the metadata `GET` arrived with, put in its response.
#[derive(Clone)]
struct SeenToken(Option<HeaderValue>);

/// Splits the input into status, headers and body; `None` when the status
/// line is not a status code. Header lines that are not valid HTTP are
/// dropped: hyper would never hand them over.
fn answer(data: &[u8]) -> Option<TokenAnswer> {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let status = StatusCode::from_bytes(lines.next()?.trim_ascii()).ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(line[..colon].trim_ascii()),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii_start()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    Some(TokenAnswer {
        status,
        headers,
        body: Bytes::copy_from_slice(body),
    })
}

/// What the layer must do with `answer`: `Ok(Some(token))` send the read
/// with that token, `Ok(None)` send it without one (IMDSv1), `Err` fail.
fn expected(answer: &TokenAnswer, fallback: bool) -> Result<Option<&[u8]>, Expected> {
    if answer.status != StatusCode::OK {
        let unavailable = matches!(
            answer.status,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        );
        return if fallback && unavailable {
            Ok(None)
        } else {
            Err(Expected::Refused(answer.status))
        };
    }
    let Some(ttl) = answer.headers.get(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS) else {
        return Err(Expected::Problem(TokenResponseProblem::MissingTtl));
    };
    let ttl = ttl.as_bytes();
    let ttl_ok = !ttl.is_empty()
        && ttl.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(ttl)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| (1..=u64::from(MAX_TTL_SECONDS)).contains(&s));
    if !ttl_ok {
        return Err(Expected::Problem(TokenResponseProblem::InvalidTtl));
    }
    let body = &answer.body[..];
    let invalid = |reason| {
        Err(Expected::Problem(TokenResponseProblem::InvalidToken(
            reason,
        )))
    };
    if body.len() > MetadataToken::MAX_LEN {
        return Err(Expected::Problem(TokenResponseProblem::BodyTooLarge));
    }
    if body.is_empty() {
        return invalid(InvalidMetadataToken::Empty);
    }
    if let Some(position) = body.iter().position(|b| !(b'!'..=b'~').contains(b)) {
        return invalid(InvalidMetadataToken::InvalidCharacter { position });
    }
    Ok(Some(body))
}

#[derive(Debug, PartialEq)]
enum Expected {
    Refused(StatusCode),
    Problem(TokenResponseProblem),
}

fn check(answer: &TokenAnswer, fallback: bool) {
    let imds = {
        let answer = answer.clone();
        service_fn(move |request: Request<Empty<Bytes>>| {
            let response = if request.method() == Method::PUT {
                assert_eq!(request.uri().path(), TOKEN_PATH);
                assert!(
                    request
                        .headers()
                        .contains_key(X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS)
                );
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
        .body(Empty::new())
        .unwrap();
    let outcome = RUNTIME.with(|runtime| runtime.block_on(service.oneshot(request)));

    match (outcome, expected(answer, fallback)) {
        (Ok(response), Ok(token)) => {
            let seen = response.extensions().get::<SeenToken>().unwrap();
            assert_eq!(seen.0.as_ref().map(HeaderValue::as_bytes), token);
            let attached = tower_imds::get_metadata_token(&response);
            assert_eq!(attached.map(|t| t.expose_secret().as_bytes()), token);
        }
        (Err(error), Err(expected)) => {
            let got = match error.downcast_ref::<Error>() {
                Some(Error::TokenRequestRefused { status, .. }) => Expected::Refused(*status),
                Some(Error::InvalidTokenResponse { problem, .. }) => Expected::Problem(*problem),
                _ => panic!("unexpected error {error:?}"),
            };
            assert_eq!(got, expected);
        }
        (Ok(_), Err(expected)) => panic!("accepted; expected {expected:?}"),
        (Err(error), Ok(_)) => panic!("refused with {error:?}"),
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some(answer) = answer(data) else {
        return;
    };
    check(&answer, false);
    check(&answer, true);
});
