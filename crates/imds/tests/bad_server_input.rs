//! What a broken or hostile IMDS can send, through the real client against
//! imds-mock: every case is a typed error (or the documented fallback),
//! never a panic and never a hang. Each call is guarded by a deadline that
//! fails the test; it does not synchronise anything.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use imds::client::DEFAULT_MAX_RESPONSE_SIZE;
use imds::client::MAX_WALK_ENTRIES;
use imds::error::ResponseError;
use imds::{CredentialsProvider, Error, clock};
use imds_mock::{MockImds, TokenPutFault, TokenReply};
use support::{bounded, builder_for, client_for};
use tower::ServiceExt;
use tower_imds::{InvalidMetadataToken, TokenResponseProblem};

const CREDENTIALS: &str = "meta-data/iam/security-credentials/imds-mock-role";
const TEN_MB: usize = 10 * 1024 * 1024;

/// The error a client reports for an unusable token answer.
fn token_problem(error: &Error) -> Option<&str> {
    match error {
        Error::BadResponse {
            path,
            reason: ResponseError::InvalidField { field, reason },
        } if path == "/latest/api/token" && *field == "session token" => Some(reason),
        _ => None,
    }
}

#[tokio::test]
async fn unusable_token_answers_are_typed_errors_and_not_retried() {
    let cases: Vec<(TokenReply, TokenResponseProblem)> = vec![
        (
            TokenReply::new(""),
            TokenResponseProblem::InvalidToken(InvalidMetadataToken::Empty),
        ),
        (
            TokenReply::new(vec![b'x'; TEN_MB]),
            TokenResponseProblem::BodyTooLarge,
        ),
        (
            TokenReply::new("AQAE\x07token"),
            TokenResponseProblem::InvalidToken(InvalidMetadataToken::InvalidCharacter {
                position: 4,
            }),
        ),
        (
            TokenReply::new("AQAE\r\nX-Injected: 1"),
            TokenResponseProblem::InvalidToken(InvalidMetadataToken::InvalidCharacter {
                position: 4,
            }),
        ),
        (
            TokenReply::new("AQAE tok"),
            TokenResponseProblem::InvalidToken(InvalidMetadataToken::InvalidCharacter {
                position: 4,
            }),
        ),
        (
            TokenReply::new("t\u{f6}ken"),
            TokenResponseProblem::InvalidToken(InvalidMetadataToken::InvalidCharacter {
                position: 1,
            }),
        ),
        (
            TokenReply::new("AQAE-token").without_ttl_header(),
            TokenResponseProblem::MissingTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b""),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"garbage"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"-5"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"0"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"21601"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"99999999999999999999999"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"6\xff0"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new("AQAE-token").ttl_header(b"60s"),
            TokenResponseProblem::InvalidTtl,
        ),
    ];
    for (reply, problem) in cases {
        let mock = MockImds::start_default().await.unwrap();
        mock.fault_next_token_puts(1, TokenPutFault::Reply(reply.clone()));
        let result = bounded(client_for(&mock).instance_id()).await;
        let error = result.expect_err(&format!("{reply:?} was accepted"));
        assert_eq!(
            token_problem(&error),
            Some(problem.to_string().as_str()),
            "{reply:?}: {error:?}"
        );
        let stats = mock.stats();
        assert_eq!(
            (stats.token_requests, stats.reads),
            (1, 0),
            "{reply:?}: an unusable answer is final and nothing is read with it"
        );
    }
}

#[tokio::test]
async fn the_token_layer_reports_the_problem_itself() {
    // The same answers through the layer alone, for callers of tower-imds:
    // the typed problem, by downcast.
    let mock = MockImds::start_default().await.unwrap();
    let http = support::plain_http();
    let stack = tower_imds::ImdsV2Layer::new();
    for (reply, problem) in [
        (
            TokenReply::new("AQAE-token").ttl_header(b"-1"),
            TokenResponseProblem::InvalidTtl,
        ),
        (
            TokenReply::new(vec![b'x'; TEN_MB]),
            TokenResponseProblem::BodyTooLarge,
        ),
    ] {
        mock.fault_next_token_puts(1, TokenPutFault::Reply(reply));
        let request = http::Request::get(format!("{}/latest/meta-data/ami-id", mock.base_url()))
            .body(http_body_util::Empty::new())
            .unwrap();
        let service = tower::Layer::layer(&stack, http.clone());
        let error = bounded(service.oneshot(request)).await.unwrap_err();
        let error = error
            .downcast_ref::<tower_imds::Error>()
            .unwrap_or_else(|| panic!("not the layer's error: {error:?}"));
        assert!(
            matches!(error, tower_imds::Error::InvalidTokenResponse { problem: p, .. } if *p == problem),
            "{error:?}"
        );
    }
}

/// The client over a hyper client whose response bodies count the bytes
/// they deliver.
fn counting_client(mock: &MockImds) -> (imds::Client, Arc<AtomicUsize>) {
    let delivered = Arc::new(AtomicUsize::new(0));
    let counter = delivered.clone();
    let http = support::plain_http().map_response(move |response: http::Response<_>| {
        let counter = counter.clone();
        response.map(|body| {
            body.map_frame(move |frame| {
                if let Some(data) = frame.data_ref() {
                    counter.fetch_add(data.len(), Ordering::Relaxed);
                }
                frame
            })
        })
    });
    let client = builder_for(mock).http_service(http).build().unwrap();
    (client, delivered)
}

#[tokio::test]
async fn ten_megabytes_where_a_short_value_is_expected_are_refused_early() {
    let mock = MockImds::builder()
        .tags_enabled(true)
        .build()
        .start()
        .await
        .unwrap();
    let huge = Bytes::from(vec![b'x'; TEN_MB]);
    let too_large = ResponseError::TooLarge {
        limit: DEFAULT_MAX_RESPONSE_SIZE,
    };
    // Well under the 10 MB: the limit, plus what one read may bring.
    let read_at_most = DEFAULT_MAX_RESPONSE_SIZE + 512 * 1024;

    let (client, delivered) = counting_client(&mock);
    client.token().await.unwrap(); // the token, in advance
    for path in [
        "meta-data/instance-id",
        "user-data",
        "meta-data/tags/instance/Name",
    ] {
        mock.set_metadata(path, huge.clone());
        delivered.store(0, Ordering::Relaxed);
        let error = bounded(client.get(path)).await.unwrap_err();
        assert!(
            matches!(&error, Error::BadResponse { reason, .. } if *reason == too_large),
            "{path}: {error:?}"
        );
        let read = delivered.load(Ordering::Relaxed);
        assert!(read <= read_at_most, "{path}: read {read} bytes");
    }
    let error = bounded(client.instance_id()).await.unwrap_err();
    assert!(matches!(&error, Error::BadResponse { reason, .. } if *reason == too_large));

    mock.set_listing("meta-data/tags/instance", "x\n".repeat(TEN_MB / 2));
    let error = bounded(client.tags()).await.unwrap_err();
    assert!(matches!(&error, Error::BadResponse { reason, .. } if *reason == too_large));

    mock.set_metadata(CREDENTIALS, huge.clone());
    let error = bounded(client.credentials_provider().credentials())
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::BadResponse { reason, .. } if *reason == too_large));

    // A 10 MB token: the layer stops at its 4 KiB limit.
    let (client, delivered) = counting_client(&mock);
    mock.fault_next_token_puts(1, TokenPutFault::Reply(TokenReply::new(huge)));
    let error = bounded(client.get("meta-data/ami-id")).await.unwrap_err();
    assert!(token_problem(&error).is_some(), "{error:?}");
    let read = delivered.load(Ordering::Relaxed);
    assert!(read <= 512 * 1024, "read {read} bytes of a 10 MB token");
}

#[tokio::test]
async fn text_that_is_not_utf8_is_refused() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    mock.set_metadata("meta-data/instance-id", &b"i-\xff\xfe0123"[..]);
    mock.set_metadata("meta-data/placement/region", &b"us-\xc3east-1"[..]);
    let not_utf8 = |error: &Error| {
        matches!(
            error,
            Error::BadResponse {
                reason: ResponseError::NotUtf8,
                ..
            }
        )
    };
    let error = bounded(client.instance_id()).await.unwrap_err();
    assert!(not_utf8(&error), "{error:?}");
    let error = bounded(client.region()).await.unwrap_err();
    assert!(not_utf8(&error), "{error:?}");
    let error = bounded(client.get_text("meta-data/instance-id"))
        .await
        .unwrap_err();
    assert!(not_utf8(&error), "{error:?}");
    // As bytes it is fine.
    let bytes = bounded(client.get("meta-data/instance-id")).await.unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"i-\xff\xfe0123"[..]));
}

#[tokio::test]
async fn malformed_credentials_are_typed_errors_that_quote_nothing() {
    let mock = MockImds::start_default().await.unwrap();
    let client = client_for(&mock);
    let secret = "wJalrXUtnFEMI-SECRET-PART";
    let whole = |fields: &str| {
        format!(
            r#"{{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "SecretAccessKey": "{secret}", "Token": "IQoJb3JpZ2luX2VjSESSION",
                "Expiration": "2100-01-01T00:00:00Z"{fields}}}"#
        )
    };
    let truncated = whole("");
    let truncated = &truncated[..truncated.find("-PART").unwrap()];
    type Expected = fn(&ResponseError) -> bool;
    let cases: Vec<(Vec<u8>, Expected)> = vec![
        (truncated.as_bytes().to_vec(), |r| {
            matches!(r, ResponseError::Json(_))
        }),
        (Vec::new(), |r| matches!(r, ResponseError::Json(_))),
        (b"\xff\xfe{}".to_vec(), |r| {
            matches!(r, ResponseError::Json(_))
        }),
        (
            br#"["Success"]"#.to_vec(),
            |r| matches!(r, ResponseError::Json(m) if m == "expected a JSON object"),
        ),
        (
            whole("")
                .replace(r#""Token": "IQoJb3JpZ2luX2VjSESSION""#, r#""Token": 12345"#)
                .into_bytes(),
            |r| matches!(r, ResponseError::InvalidField { field: "Token", .. }),
        ),
        (
            whole("")
                .replace(&format!(r#""SecretAccessKey": "{secret}", "#), "")
                .into_bytes(),
            |r| matches!(r, ResponseError::MissingField("SecretAccessKey")),
        ),
        (
            whole("")
                .replace("2100-01-01T00:00:00Z", &format!("soon {secret}"))
                .into_bytes(),
            |r| {
                matches!(
                    r,
                    ResponseError::InvalidField {
                        field: "Expiration",
                        ..
                    }
                )
            },
        ),
        // A duplicate key: the last one counts, as in serde_json.
        (whole(r#", "AccessKeyId": ["ASIA"]"#).into_bytes(), |r| {
            matches!(
                r,
                ResponseError::InvalidField {
                    field: "AccessKeyId",
                    ..
                }
            )
        }),
    ];
    for (body, expected) in cases {
        mock.set_metadata(CREDENTIALS, body.clone());
        let error = bounded(client.credentials_provider().credentials())
            .await
            .unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(
            matches!(&error, Error::BadResponse { reason, .. } if expected(reason)),
            "{}: {error:?}",
            String::from_utf8_lossy(&body)
        );
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(!shown.contains("SESSION"), "{shown}");
    }
}

#[tokio::test]
async fn a_code_other_than_success_is_a_credentials_error() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_credentials_error(
        "AssumeRoleUnauthorizedAccess",
        "EC2 cannot assume the role imds-mock-role.",
    );
    let client = client_for(&mock);
    let error = bounded(client.credentials_provider().credentials())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Credentials { role, code, message: Some(message) }
            if role == "imds-mock-role"
                && code == "AssumeRoleUnauthorizedAccess"
                && message.starts_with("EC2 cannot assume")),
        "{error:?}"
    );
    mock.clear_credentials_error();
    bounded(client.credentials_provider().credentials())
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn credentials_already_expired_are_served_only_for_the_short_extension() {
    let mock = MockImds::start_default().await.unwrap();
    mock.set_metadata(
        CREDENTIALS,
        r#"{"Code": "Success", "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "SecretAccessKey": "secret", "Token": "token",
            "Expiration": "2020-01-01T00:00:00Z"}"#,
    );
    let now = clock::now();
    let provider = CredentialsProvider::new(client_for(&mock));
    let credentials = bounded(provider.credentials()).await.unwrap();
    // Documented: expired credentials from IMDS are extended by 5 minutes
    // plus up to 5 minutes of jitter, never served as fresh for longer...
    let extended = credentials.expiration().duration_since(now).unwrap();
    assert!(
        (Duration::from_secs(300)..=Duration::from_secs(600)).contains(&extended),
        "{extended:?}"
    );
    let fetches = || mock.stats().path_count(&format!("/latest/{CREDENTIALS}"));
    assert_eq!(fetches(), 1);
    // ...and fetched again after the retry delay (1 minute), not kept.
    tokio::time::advance(Duration::from_secs(30)).await;
    bounded(provider.credentials()).await.unwrap();
    assert_eq!(fetches(), 1, "cached until the retry delay");
    tokio::time::advance(Duration::from_secs(31)).await;
    bounded(provider.credentials()).await.unwrap();
    assert_eq!(fetches(), 2, "fetched again after the retry delay");
}

#[tokio::test]
async fn odd_listing_lines_never_leave_the_listed_directory() {
    let mock = MockImds::builder()
        .tags_enabled(true)
        .tags([("Name", "web-1"), ("Team", "infra")])
        .build()
        .start()
        .await
        .unwrap();
    let client = client_for(&mock);
    mock.set_listing(
        "meta-data/tags/instance",
        "Name\r\n\n\n../\n..\n.\n/\n//\n../../../latest/user-data\nno-such-key\n\
         key with spaces\n\u{1b}[31m\nName\nTeam",
    );
    let tags = bounded(client.tags()).await.unwrap().unwrap();
    assert_eq!(
        tags.into_iter().collect::<Vec<_>>(),
        [
            ("Name".to_owned(), "web-1".to_owned()),
            ("Team".to_owned(), "infra".to_owned())
        ]
    );
    let walked = bounded(client.walk("meta-data/tags/"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(walked["instance"]["Name"], "web-1");
    let requests = mock.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/latest/meta-data/tags/instance/Team"),
        "{requests:?}"
    );
    for request in requests {
        let path = &request.path;
        assert!(
            path == "/latest/api/token" || path.starts_with("/latest/meta-data/tags/"),
            "a listing line led the client to {path}"
        );
        assert!(!path.contains("/../") && !path.ends_with("/.."), "{path}");
    }

    // A listing longer than a walk may go is refused before any fetch.
    mock.set_listing(
        "meta-data/tags/instance",
        (0..=MAX_WALK_ENTRIES)
            .map(|i| format!("k{i}\n"))
            .collect::<String>(),
    );
    let reads = mock.stats().reads;
    let error = bounded(client.walk("meta-data/tags/instance/"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::BadResponse {
                reason: ResponseError::TooManyEntries { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(mock.stats().reads, reads + 1, "only the listing was read");
}
