//! What every scenario stands on: the mock on loopback, the hyper-util
//! client, our client, the ways of sending a read, and a helper that sends
//! one and reads its body to the end.

use std::{io, thread};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Empty};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use imds_mock::{MockImds, Stats};
use tokio::sync::oneshot;
use tower::{BoxError, Service, ServiceExt};
use tower_imds::{MetadataToken, header::X_AWS_EC2_METADATA_TOKEN};

/// The request body every read carries.
pub type ReqBody = Empty<Bytes>;

/// The client users already have, and the physical limit we compare with.
pub type HttpClient = Client<HttpConnector, ReqBody>;

/// The path every hot-path read asks for.
pub const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

/// The ways of sending a read that the benchmarks compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// The bare hyper-util client, token header set by hand.
    Bare,
    /// `ImdsV2Layer` over the same client, token cached.
    Layer,
    /// Our `imds::Client::get`, token cached.
    Client,
}

impl Variant {
    /// The variant's name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Bare => "bare hyper-util",
            Variant::Layer => "ImdsV2Layer",
            Variant::Client => "imds::Client::get",
        }
    }
}

/// A fresh hyper-util legacy client with its own connection pool.
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Where the mock's tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// On the benchmark's own runtime, as tests and examples embed it: the
    /// shortest round trip, so the layer's own cost weighs the most.
    SharedRuntime,
    /// On a current-thread runtime on an OS thread of its own, more like a
    /// server in another process: every read pays a cross-thread wake-up.
    OwnThread,
}

/// `imds-mock` with its default instance, on `127.0.0.1`.
pub struct Mock {
    server: Option<MockImds>,
    /// For [`Placement::OwnThread`]: ends the server's thread.
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// `server` with keep-alive on (see [`Mock::start`]).
pub fn keep_alive(server: MockImds) -> MockImds {
    server.set_keep_alive(true);
    server
}

impl Mock {
    /// Starts the mock with its default instance on `127.0.0.1:0`, with
    /// keep-alive on: the benchmarks measure clients, not TCP set-up (IMDS
    /// closes every connection, and so does the mock by default).
    pub async fn start(placement: Placement) -> io::Result<Self> {
        match placement {
            Placement::SharedRuntime => Ok(Self {
                server: Some(keep_alive(MockImds::builder().build().start().await?)),
                stop: None,
                thread: None,
            }),
            Placement::OwnThread => Self::start_on_own_thread(),
        }
    }

    fn start_on_own_thread() -> io::Result<Self> {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("imds-mock".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let _ =
                        started_tx.send(MockImds::builder().build().start().await.map(keep_alive));
                    // Serve until told to stop (or until the handle is gone).
                    let _ = stopped.await;
                });
            })?;
        // Waits a moment for the thread's runtime to bind the port.
        let server = started_rx
            .recv()
            .map_err(|_| io::Error::other("the mock's thread died before it started"))??;
        Ok(Self {
            server: Some(server),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The server, for its fault knobs.
    pub fn server(&self) -> &MockImds {
        self.server.as_ref().expect("the mock runs until shut down")
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn uri(&self, path: &str) -> Result<Uri, BoxError> {
        Ok(format!("{}{path}", self.server().base_url()).parse()?)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server().base_url()
    }

    /// The server's counters.
    pub fn stats(&self) -> Stats {
        self.server().stats()
    }

    /// Stops the server, waits for its connections to close, and ends its
    /// thread.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        drop(self.server.take());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How one variant builds its reads: the bare client needs the token header
/// set by hand; the layer sets it itself.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    uri: Uri,
    token: Option<HeaderValue>,
}

impl ReadRequest {
    /// A read for the layer: no token header.
    pub fn for_layer(uri: Uri) -> Self {
        Self { uri, token: None }
    }

    /// A read for the bare client, carrying `token` as a user would set it.
    pub fn for_bare(uri: Uri, token: &MetadataToken) -> Self {
        Self {
            uri,
            token: Some(token.header_value().clone()),
        }
    }

    /// The request, built afresh as a caller would for each read.
    pub fn build(&self) -> Request<ReqBody> {
        let mut builder = Request::get(self.uri.clone());
        if let Some(token) = &self.token {
            builder = builder.header(X_AWS_EC2_METADATA_TOKEN, token.clone());
        }
        builder
            .body(Empty::new())
            .expect("a GET with a valid URI and header is a valid request")
    }
}

/// Sends `request` through `service`, reads the whole body, and insists on
/// a 200 (which the mock gives a read only with a valid token). Returns the
/// body's length.
pub async fn send<S, RB>(service: &mut S, request: Request<ReqBody>) -> Result<usize, BoxError>
where
    S: Service<Request<ReqBody>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let response = service
        .ready()
        .await
        .map_err(Into::into)?
        .call(request)
        .await
        .map_err(Into::into)?;
    read_to_end(response).await
}

/// Reads the whole body of `response`; a status other than 200 is an error.
/// Returns the body's length.
pub async fn read_to_end<RB>(response: Response<RB>) -> Result<usize, BoxError>
where
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let status = response.status();
    let body = response.into_body().collect().await.map_err(Into::into)?;
    let len = body.to_bytes().len();
    if status != StatusCode::OK {
        return Err(format!("a read was answered {status}, not 200").into());
    }
    Ok(len)
}

/// Our client with its defaults, sending to the mock, isolated from the
/// process environment and config file (so a developer's `AWS_*` settings
/// do not change what is measured).
pub fn imds_client(mock: &Mock) -> Result<imds::Client, BoxError> {
    imds_client_at(&mock.base_url())
}

/// [`imds_client`] for any server at `base` (`http://127.0.0.1:PORT`).
pub fn imds_client_at(base: &str) -> Result<imds::Client, BoxError> {
    Ok(imds::Client::builder()
        .env(imds::Env::from_map::<_, String, String>([]))
        .endpoint(base)
        .build()?)
}

/// A token fetched by hand with one PUT through the bare client, as a user
/// of the bare client would.
pub async fn fetch_token(client: &HttpClient, mock: &Mock) -> Result<MetadataToken, BoxError> {
    fetch_token_at(client, &mock.base_url()).await
}

/// [`fetch_token`] from any server at `base` (`http://127.0.0.1:PORT`).
pub async fn fetch_token_at(client: &HttpClient, base: &str) -> Result<MetadataToken, BoxError> {
    let uri: Uri = format!("{base}{}", imds_mock::TOKEN_PATH).parse()?;
    let request = Request::put(uri)
        .header(imds_mock::TTL_HEADER, "21600")
        .body(Empty::new())?;
    let response = client.request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::OK {
        return Err(format!("the token PUT was answered {status}").into());
    }
    Ok(MetadataToken::try_from(std::str::from_utf8(&body)?)?)
}
