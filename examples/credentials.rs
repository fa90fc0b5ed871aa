//! Credentials: the instance role's credentials through `imds::Client`.
//!
//! ```text
//! cargo run --example credentials                                      # embedded mock on 127.0.0.1
//! cargo run --example credentials -- --endpoint http://169.254.169.254 # on EC2
//! ```
//!
//! Without `--endpoint` it starts `imds-mock` on loopback, so it runs
//! anywhere. It prints the role, when the credentials expire and the last
//! four characters of the access key ID: never the secret access key or
//! the session token.

use std::time::SystemTime;

use imds::{Client, Error};

/// What the example found, for the test that runs it.
#[derive(Debug)]
pub struct Summary {
    /// The instance role.
    pub role: String,
    /// When the credentials expire.
    pub expiration: SystemTime,
    /// The last four characters of the access key ID.
    pub key_id_tail: String,
    /// Everything printed, to check that no secret was.
    pub printed: String,
}

/// Fetches the role credentials from the IMDS at `endpoint` and prints what
/// is safe to print.
pub async fn run(endpoint: &str) -> Result<Summary, Error> {
    let client = Client::builder().endpoint(endpoint).build()?;
    let credentials = client.credentials_provider().credentials().await?;

    let role = credentials.role_name().unwrap_or("(configured)").to_owned();
    let key_id = credentials.access_key_id();
    let key_id_tail: String = key_id
        .chars()
        .skip(key_id.chars().count().saturating_sub(4))
        .collect();
    let expiration = credentials.expiration();
    let remaining = expiration
        .duration_since(imds::clock::now())
        .map(|left| format!("in {} min", left.as_secs() / 60))
        .unwrap_or_else(|_| "already".to_owned());
    let printed = format!(
        "role           {role}\n\
         expires        {} ({remaining})\n\
         access key id  ****{key_id_tail}\n",
        humantime::format_rfc3339_seconds(expiration),
    );
    print!("{printed}");
    Ok(Summary {
        role,
        expiration,
        key_id_tail,
        printed,
    })
}

#[allow(dead_code)] // not used when a test includes this file as a module
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--endpoint"), Some(url)) => Some(url),
        _ => {
            eprintln!("usage: credentials [--endpoint URL]");
            std::process::exit(2);
        }
    };
    match endpoint {
        Some(endpoint) => {
            run(&endpoint).await?;
        }
        None => {
            let mock = imds_mock::MockImds::start_default().await?;
            eprintln!("(embedded imds-mock at {})", mock.base_url());
            run(&mock.base_url()).await?;
            mock.shutdown().await;
        }
    }
    Ok(())
}
