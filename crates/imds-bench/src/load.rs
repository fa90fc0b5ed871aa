//! Load generators: reads one after the other, or from many tasks at once,
//! through anything that can send one read ([`Read`]).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use http::{Request, Response};
use http_body::Body;
use tokio::task::JoinSet;
use tower::{BoxError, Service};

use crate::fixture::{self, ReadRequest, ReqBody};
use crate::measure::Samples;

/// One way of sending a read, cheap to clone: each task of a concurrent
/// load gets a clone, as a user's tasks would.
pub trait Read: Clone + Send + 'static {
    /// Sends one read and reads its body to the end; returns the body's
    /// length. Anything but a 200 is an error.
    fn read(&mut self) -> impl Future<Output = Result<usize, BoxError>> + Send;
}

/// A read through a tower `Service` (the bare client, or the layer over
/// it): the request is built for each read, as a caller would build it.
#[derive(Clone, Debug)]
pub struct ServiceRead<S> {
    service: S,
    request: ReadRequest,
}

impl<S> ServiceRead<S> {
    /// Reads `request` through `service`.
    pub fn new(service: S, request: ReadRequest) -> Self {
        Self { service, request }
    }
}

impl<S, RB> Read for ServiceRead<S>
where
    S: Service<Request<ReqBody>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    RB: Body + Send,
    RB::Data: Send,
    RB::Error: Into<BoxError>,
{
    async fn read(&mut self) -> Result<usize, BoxError> {
        fixture::send(&mut self.service, self.request.build()).await
    }
}

/// A read through our [`imds::Client::get`].
#[derive(Clone, Debug)]
pub struct ClientRead {
    client: imds::Client,
    path: &'static str,
}

impl ClientRead {
    /// Reads `path` with `client`.
    pub fn new(client: imds::Client, path: &'static str) -> Self {
        Self { client, path }
    }
}

impl Read for ClientRead {
    async fn read(&mut self) -> Result<usize, BoxError> {
        match self.client.get(self.path).await? {
            Some(body) => Ok(body.len()),
            None => Err(format!("{} was answered 404", self.path).into()),
        }
    }
}

/// One variant's reads in one round.
#[derive(Debug, Default)]
pub struct Batch {
    /// The latency of every read.
    pub samples: Samples,
    /// Wall time for the whole batch.
    pub elapsed: Duration,
}

/// `n` reads one after the other, each timed from the call to the last
/// byte of its body.
pub async fn sequential<R: Read>(reader: &mut R, n: usize) -> Result<Batch, BoxError> {
    let mut samples = Samples::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let sent = Instant::now();
        reader.read().await?;
        samples.push(sent.elapsed());
    }
    Ok(Batch {
        samples,
        elapsed: start.elapsed(),
    })
}

/// `tasks` tasks, each with its own clone of `reader`, each doing
/// `per_task` sequential reads; timed from the first spawn to the last
/// task's end.
pub async fn concurrent<R: Read>(
    reader: &R,
    tasks: usize,
    per_task: usize,
) -> Result<Batch, BoxError> {
    let start = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let mut reader = reader.clone();
        set.spawn(async move { sequential(&mut reader, per_task).await });
    }
    let mut samples = Samples::with_capacity(tasks * per_task);
    while let Some(joined) = set.join_next().await {
        samples.append(&mut joined??.samples);
    }
    Ok(Batch {
        samples,
        elapsed: start.elapsed(),
    })
}
