//! An axum service whose handlers read IMDS through one `imds::Client` in
//! the app state, with tower-http's `TraceLayer` on the outbound stack.
//!
//! ```text
//! cargo run --example axum_service                                      # embedded mock on 127.0.0.1
//! cargo run --example axum_service -- --endpoint http://169.254.169.254 # on EC2
//! curl http://127.0.0.1:PORT/instance                                   # the port it prints
//! ```
//!
//! Without `--endpoint` it starts `imds-mock` on loopback, so it runs
//! anywhere. The service listens on 127.0.0.1 until Ctrl-C.
//!
//! - **One client, one token.** The client is cheap to clone and every
//!   clone shares its token cache and connection pool: axum clones the
//!   state into each handler, and all of them read with the one token the
//!   first request fetched. Boot-stable values (instance ID, region, ...)
//!   are served from the client's memory after their first read.
//! - **Tracing the IMDS traffic.** `TraceLayer` wraps the HTTP client the
//!   IMDS client sends through ([`imds::ClientBuilder::http_service`]), so
//!   each request to IMDS, the token `PUT` included, gets a span and a
//!   `debug` event. The token header is marked sensitive, and the default
//!   spans record no headers anyway: the token never shows in the log.
//! - **A caller tag.** The client's application ID puts `User-Agent:
//!   imds/VERSION app/axum-service` on every IMDS request, so an operator
//!   auditing IMDS traffic on the host can tell this service apart.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::client::legacy::{Client as HttpClient, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::{BoxError, ServiceBuilder};
use tower_http::trace::TraceLayer;

/// The application ID the service's IMDS requests carry, in
/// `User-Agent: imds/VERSION app/axum-service`.
pub const APP_ID: &str = "axum-service";

/// The IMDS client the handlers share: the default settings, the IMDS at
/// `base`, and requests traced by tower-http.
pub fn imds_client(base: &str) -> Result<imds::Client, BoxError> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(1)));
    connector.set_nodelay(true);
    let http =
        HttpClient::builder(TokioExecutor::new()).build::<_, imds::client::RequestBody>(connector);
    let traced = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .service(http);
    let client = imds::Client::builder()
        .endpoint(base)
        .app_id(APP_ID)
        .http_service(traced)
        .build()?;
    Ok(client)
}

/// The service: three routes reading IMDS through the client in its state.
pub fn app(client: imds::Client) -> Router {
    Router::new()
        .route("/instance", get(instance))
        .route("/placement", get(placement))
        .route("/image", get(image))
        .with_state(client)
}

/// What a handler answers when IMDS fails: 502 and the error's message
/// (which never holds a token or credentials).
type Failure = (StatusCode, String);

fn failed(error: imds::Error) -> Failure {
    (StatusCode::BAD_GATEWAY, format!("IMDS: {error}"))
}

/// `GET /instance`: ID and type.
async fn instance(State(client): State<imds::Client>) -> Result<Json<Value>, Failure> {
    let (id, kind) =
        tokio::try_join!(client.instance_id(), client.instance_type()).map_err(failed)?;
    Ok(Json(json!({ "instance_id": id, "instance_type": kind })))
}

/// `GET /placement`: region, availability zone and its ID.
async fn placement(State(client): State<imds::Client>) -> Result<Json<Value>, Failure> {
    let (region, zone, zone_id) = tokio::try_join!(
        client.region(),
        client.availability_zone(),
        client.availability_zone_id()
    )
    .map_err(failed)?;
    Ok(Json(
        json!({ "region": region, "availability_zone": zone, "availability_zone_id": zone_id }),
    ))
}

/// `GET /image`: the AMI, read from IMDS on every request (it is not one
/// of the values the client keeps).
async fn image(State(client): State<imds::Client>) -> Result<Json<Value>, Failure> {
    let ami = client.get_text("meta-data/ami-id").await.map_err(failed)?;
    Ok(Json(json!({ "ami_id": ami })))
}

/// Serves [`app`] on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    client: imds::Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(client))
        .with_graceful_shutdown(shutdown)
        .await
}

#[allow(dead_code)] // not used when a test includes this file as a module
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_http=debug,tower_imds=debug".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let endpoint = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--endpoint"), Some(url)) => Some(url.trim_end_matches('/').to_owned()),
        _ => {
            eprintln!("usage: axum_service [--endpoint URL]");
            std::process::exit(2);
        }
    };
    let (base, mock) = match endpoint {
        Some(base) => (base, None),
        None => {
            let mock = imds_mock::MockImds::start_default().await?;
            println!(
                "no --endpoint given: using the embedded mock IMDS at {}",
                mock.base_url()
            );
            (mock.base_url(), Some(mock))
        }
    };

    let client = imds_client(&base)?;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let at = listener.local_addr()?;
    println!("listening on http://{at}: try /instance, /placement and /image; Ctrl-C stops");
    serve(listener, client, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    if let Some(mock) = mock {
        println!("token PUTs the mock received: {}", mock.stats().token_puts);
        mock.shutdown().await;
    }
    Ok(())
}
