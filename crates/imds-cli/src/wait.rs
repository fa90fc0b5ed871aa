//! `imds wait`: the client's [`wait_for`](imds::Client::wait_for), for
//! IMDS and every `--path` at once.

use std::time::Duration;

use imds::Client;

use crate::exit::Failure;

/// How long `imds wait` waits without `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// `imds wait`: until IMDS answers, or until every path in `paths` exists
/// (waited for together, so `timeout` bounds the whole). Prints nothing.
pub async fn wait(client: &Client, paths: &[String], timeout: Duration) -> Result<(), Failure> {
    if paths.is_empty() {
        client.wait_until_available(timeout).await?;
    } else {
        futures_util::future::try_join_all(paths.iter().map(|path| client.wait_for(path, timeout)))
            .await?;
    }
    Ok(())
}
