//! The rules for the answer to the token `PUT`, stated independently of
//! the layer, and a check of the layer against them: `ImdsV2Layer` over
//! an in-process service that plays IMDS succeeds exactly when status, TTL
//! header and body make a valid token response, and otherwise fails with
//! the `tower_imds::Error` that says why.
//!
//! One statement of the rules for two users: `tests/token_response.rs`
//! (property tests, and the fuzz seeds replayed) and the `token_response`
//! fuzz target (`fuzz/`), which includes this file by path.

#![allow(dead_code)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{Empty, Full};
use tokio::runtime::Runtime;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_imds::header::{
    TOKEN_PATH, X_AWS_EC2_METADATA_TOKEN, X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
};
use tower_imds::{
    Error, ImdsV2Layer, InvalidMetadataToken, MetadataToken, TokenResponseProblem, TokenTtl,
};

/// What the fake IMDS answers to the token `PUT`.
#[derive(Debug, Clone)]
pub struct TokenAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TokenAnswer {
    /// An HTTP-like answer: a status line, `name: value` header lines, an
    /// empty line, the body. `None` when the status line is not a status
    /// code. Header lines that are not valid HTTP are dropped: hyper would
    /// never hand them over.
    pub fn parse(data: &[u8]) -> Option<Self> {
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
        Some(Self {
            status,
            headers,
            body: Bytes::copy_from_slice(body),
        })
    }
}

/// How the layer must end.
#[derive(Debug, PartialEq)]
pub enum Outcome<'a> {
    /// The read goes out with this token, or with none (IMDSv1).
    Sent(Option<&'a [u8]>),
    Refused(StatusCode),
    Problem(TokenResponseProblem),
}

/// What the layer must do with `answer`, worked out independently of it.
pub fn expected(answer: &TokenAnswer, fallback: bool) -> Outcome<'_> {
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
            .is_some_and(|s| (1..=u64::from(TokenTtl::MAX.as_secs())).contains(&s));
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

/// The token the metadata `GET` arrived with, put in its response.
#[derive(Clone)]
struct SeenToken(Option<HeaderValue>);

/// Sends one read through a fresh layer over a fake IMDS that answers the
/// `PUT` with `answer`; panics unless the layer ends as [`expected`] says
/// (and a read it sends carries exactly the expected token, which the
/// response's extensions then hold). Returns the outcome.
pub fn check<'a>(runtime: &Runtime, answer: &'a TokenAnswer, fallback: bool) -> Outcome<'a> {
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
    let want = expected(answer, fallback);
    match (runtime.block_on(service.oneshot(request)), &want) {
        (Ok(response), Outcome::Sent(token)) => {
            let seen = response.extensions().get::<SeenToken>().unwrap();
            assert_eq!(seen.0.as_ref().map(HeaderValue::as_bytes), *token);
            let attached = tower_imds::get_metadata_token(&response);
            assert_eq!(attached.map(|t| t.expose_secret().as_bytes()), *token);
        }
        (Ok(_), _) => panic!("accepted {answer:?} (fallback {fallback}); expected {want:?}"),
        (Err(error), _) => {
            let got = match error.downcast_ref::<Error>() {
                Some(Error::TokenRequestRefused { status, .. }) => Outcome::Refused(*status),
                Some(Error::InvalidTokenResponse { problem, .. }) => Outcome::Problem(*problem),
                _ => panic!("unexpected error {error:?}"),
            };
            assert_eq!(got, want, "{answer:?}, fallback {fallback}");
        }
    }
    want
}
