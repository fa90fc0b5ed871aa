//! P1, the layer's and the client's own cost: the same comparison as the
//! hot path, but over an in-memory inner service that answers at once, so
//! no network time hides what the layer itself spends per call (cache
//! lookup, header, response extension), nor what `imds::Client::get`
//! spends (path, URI, retry, token layer, timeouts, body collection; the
//! client is given the same function with `ClientBuilder::http_service`).
//! Reported in nanoseconds per call; the loopback ratio in `p1_hot_path`
//! is this cost divided by a real round trip.
//!
//! Timed per batch, not per call (two clock reads would cost about as much
//! as what is measured), in interleaved rounds.

use std::{convert::Infallible, time::Duration};

use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use http_body_util::Full;
use tokio::time::Instant;
use tower::{BoxError, Service, ServiceBuilder, service_fn};
use tower_imds::{ImdsV2Layer, MetadataToken, header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS};

use imds_bench::{
    Mode,
    fixture::{self, INSTANCE_ID, Mock, ReadRequest, ReqBody, Variant},
    measure::{self, Samples},
    report::{self, Table},
    rounds,
};

const TOKEN: &str = "AQAEAFbF3Kq-9_xYz0123456789abcdefghijklmnopqrstuvwx==";

/// Answers a token PUT with `TOKEN`, anything else with an instance id,
/// without I/O.
async fn in_memory(request: Request<ReqBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::PUT {
        let mut response = Response::new(Full::new(Bytes::from_static(TOKEN.as_bytes())));
        response.headers_mut().insert(
            X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS,
            http::HeaderValue::from_static("21600"),
        );
        return Ok(response);
    }
    Ok(Response::new(Full::new(Bytes::from_static(
        b"i-0123456789abcdef0",
    ))))
}

pub async fn run(_mock: &Mock, mode: Mode) -> Result<Vec<String>, BoxError> {
    let rounds: usize = mode.pick(3, 30);
    let calls: usize = mode.pick(1_000, 50_000);
    // Nothing is sent anywhere: the inner service is a function.
    let base = "http://127.0.0.1:1";
    let uri: Uri = format!("{base}{INSTANCE_ID}").parse()?;
    let token: MetadataToken = TOKEN.parse()?;
    let bare_read = ReadRequest::for_bare(uri.clone(), &token);
    let layer_read = ReadRequest::for_layer(uri);

    let mut bare = service_fn(in_memory);
    let mut layer = ServiceBuilder::new()
        .layer(ImdsV2Layer::new())
        .service(service_fn(in_memory));
    let client = imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(base)
        .http_service(service_fn(in_memory))
        .build()?;
    const VARIANTS: [Variant; 3] = [Variant::Bare, Variant::Layer, Variant::Client];
    let mut run_batch = async |i: usize| match VARIANTS[i] {
        Variant::Bare => batch(&mut bare, &bare_read, calls).await,
        Variant::Layer => batch(&mut layer, &layer_read, calls).await,
        Variant::Client => client_batch(&client, calls).await,
    };
    // Warm up; the layer and the client cache their tokens.
    for i in 0..VARIANTS.len() {
        run_batch(i).await?;
    }
    let per_call = |d: Duration| d / u32::try_from(calls).unwrap_or(u32::MAX);
    let mut per_call_samples: Vec<Samples> = VARIANTS.iter().map(|_| Samples::default()).collect();
    let mut differences: Vec<Vec<f64>> = VARIANTS.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let mut times = [Duration::ZERO; 3];
        for i in rounds::order(round, VARIANTS.len()) {
            times[i] = run_batch(i).await?;
        }
        for i in 0..VARIANTS.len() {
            per_call_samples[i].push(per_call(times[i]));
            differences[i]
                .push((per_call(times[i]).as_secs_f64() - per_call(times[0]).as_secs_f64()) * 1e9);
        }
    }

    report::heading("P1 own cost: the same call over an in-memory inner service");
    println!(
        "Inner service: a function answering at once (no I/O). Bare: request with the \
         token header set by hand. Layer: ImdsV2Layer, token cached. Client: \
         imds::Client::get with ClientBuilder::http_service(the same function), token \
         cached. Body read to the end. {rounds} round(s) of {calls} calls per variant, \
         timed per round."
    );
    println!();
    let mut table = Table::new(&[
        "variant",
        "median per call",
        "min per call",
        "own cost (median of per-round differences)",
    ]);
    for (i, variant) in VARIANTS.iter().enumerate() {
        let s = per_call_samples[i].summary();
        let name = match variant {
            Variant::Bare => "no layer, header by hand",
            other => other.name(),
        };
        let cost = if i == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} ns", measure::median(&differences[i]))
        };
        table.row(vec![name.into(), nanos(s.p50), nanos(s.min), cost]);
    }
    table.print();
    Ok(Vec::new())
}

fn nanos(d: Duration) -> String {
    format!("{} ns", d.as_nanos())
}

/// `n` calls of `client.get` one after the other; the time for all of
/// them.
async fn client_batch(client: &imds::Client, n: usize) -> Result<Duration, BoxError> {
    let start = Instant::now();
    for _ in 0..n {
        let body = client.get(INSTANCE_ID).await?;
        std::hint::black_box(body.ok_or("404")?);
    }
    Ok(start.elapsed())
}

/// `n` calls one after the other; the time for all of them.
async fn batch<S>(service: &mut S, read: &ReadRequest, n: usize) -> Result<Duration, BoxError>
where
    S: Service<Request<ReqBody>, Response = Response<Full<Bytes>>>,
    S::Error: Into<BoxError>,
{
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(fixture::send(service, read.build()).await?);
    }
    Ok(start.elapsed())
}
