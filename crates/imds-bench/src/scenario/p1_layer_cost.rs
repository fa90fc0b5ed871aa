//! P1, the layer's own cost: the same comparison as the hot path, but over
//! an in-memory inner service that answers at once, so no network time
//! hides what the layer itself spends per call (cache lookup, header,
//! response extension). Reported in nanoseconds per call; the loopback
//! ratio in `p1_hot_path` is this cost divided by a real round trip.
//!
//! Timed per batch, not per call (two clock reads would cost about as much
//! as what is measured), in alternating rounds.

use std::{
    convert::Infallible,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use http_body_util::Full;
use tower::{BoxError, Service, ServiceBuilder, service_fn};
use tower_imds::{ImdsV2Layer, MetadataToken, header::X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS};

use crate::{
    fixture::{self, INSTANCE_ID, Mock, ReadRequest, ReqBody, Variant},
    measure::{self, Samples},
    report::{self, Table},
    scenario::Mode,
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
    let rounds: usize = mode.pick(2, 30);
    let calls: usize = mode.pick(1_000, 50_000);
    // Nothing is sent anywhere: the inner service is a function.
    let uri: Uri = format!("http://127.0.0.1:1{INSTANCE_ID}").parse()?;
    let token: MetadataToken = TOKEN.parse()?;
    let bare_read = ReadRequest::for_bare(uri.clone(), &token);
    let layer_read = ReadRequest::for_layer(uri);

    let mut bare = service_fn(in_memory);
    let mut layer = ServiceBuilder::new()
        .layer(ImdsV2Layer::new())
        .service(service_fn(in_memory));
    // Warm up; the layer caches its token.
    batch(&mut bare, &bare_read, calls).await?;
    batch(&mut layer, &layer_read, calls).await?;

    let (mut bare_per_call, mut layer_per_call) = (Samples::default(), Samples::default());
    let mut differences = Vec::new();
    for round in 0..rounds {
        let (mut b, mut l) = (Duration::ZERO, Duration::ZERO);
        let order = if round.is_multiple_of(2) {
            [Variant::Bare, Variant::Layer]
        } else {
            [Variant::Layer, Variant::Bare]
        };
        for variant in order {
            match variant {
                Variant::Bare => b = batch(&mut bare, &bare_read, calls).await?,
                Variant::Layer => l = batch(&mut layer, &layer_read, calls).await?,
            }
        }
        let per_call = |d: Duration| d / u32::try_from(calls).unwrap_or(u32::MAX);
        bare_per_call.push(per_call(b));
        layer_per_call.push(per_call(l));
        differences.push((per_call(l).as_secs_f64() - per_call(b).as_secs_f64()) * 1e9);
    }

    report::heading("P1 layer cost: the same call over an in-memory inner service");
    println!(
        "Inner service: a function answering at once (no I/O). Bare: request with the \
         token header set by hand. Layer: ImdsV2Layer, token cached. Body read to the \
         end. {rounds} round(s) of {calls} calls per variant, timed per round."
    );
    println!();
    let mut table = Table::new(&["variant", "median per call", "min per call"]);
    for (variant, samples) in [
        ("no layer, header by hand", &bare_per_call),
        (Variant::Layer.name(), &layer_per_call),
    ] {
        let s = samples.summary();
        table.row(vec![variant.into(), nanos(s.p50), nanos(s.min)]);
    }
    table.print();
    println!();
    println!(
        "The layer's own cost: {:.0} ns per call (median of per-round differences)",
        measure::median(&differences)
    );
    Ok(Vec::new())
}

fn nanos(d: Duration) -> String {
    format!("{} ns", d.as_nanos())
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
