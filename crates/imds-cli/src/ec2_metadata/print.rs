//! What `ec2-metadata` prints for each option, byte for byte as its
//! script does (amazon-ec2-utils' `print_normal_metric`,
//! `print_block_device_mapping`, `print_public_keys`, `print_tags` and
//! `print_path`), but for the values themselves, which are printed
//! exactly as IMDS serves them.

use std::fmt;
use std::io::IsTerminal;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use imds::Client;

use crate::exit::Failure;
use crate::output;

/// What the script prints for a value it could not read, or that is empty.
pub const NOT_AVAILABLE: &str = "not available";

/// How many items are read at once.
const CONCURRENCY: usize = 8;

/// One thing to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `LABEL: VALUE` of one path.
    Value {
        /// The label, e.g. `placement` for the availability zone.
        label: &'static str,
        /// The path, relative to `/latest/`.
        path: &'static str,
    },
    /// `block-device-mapping: ` and a `\t NAME: DEVICE` line per mapping.
    BlockDeviceMapping,
    /// `public-keys: ` and, per key, its name, index, format and key.
    PublicKeys,
    /// `tags: ` and a `\t KEY: VALUE` line per tag.
    Tags,
    /// `--path`: the value at a path, labelled with the path as the script
    /// completes it.
    Path {
        /// The completed path, e.g. `latest/meta-data/placement/region`.
        label: String,
    },
}

impl Item {
    /// `--path PATH`, completed as the script's `print_path` does: runs of
    /// `/` made one; unless it starts with `/`, a version (`1.0`, a date,
    /// `latest`) or, after an optional `/`, `dynamic` or `meta-data`, it is
    /// put under `latest/meta-data/`; those two under `latest/`.
    pub fn path(path: &str) -> Self {
        let versioned = regex_lite::Regex::new(r"^/$|^/?(1\.0|[0-9]{4}-[0-9]{2}-[0-9]{2}|latest)")
            .expect("a valid regular expression");
        let category =
            regex_lite::Regex::new(r"^/?(dynamic|meta-data)").expect("a valid regular expression");
        let mut label = one_slash(path);
        if !versioned.is_match(&label) {
            label = if category.is_match(&label) {
                format!("latest/{label}")
            } else {
                format!("latest/meta-data/{label}")
            };
        }
        Self::Path {
            label: one_slash(&label),
        }
    }
}

impl fmt::Display for Item {
    /// The label the item is printed with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Value { label, .. } => label,
            Self::BlockDeviceMapping => "block-device-mapping",
            Self::PublicKeys => "public-keys",
            Self::Tags => "tags",
            Self::Path { label } => label,
        })
    }
}

/// `text` with every run of `/` made one.
fn one_slash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// The output for `items`: read concurrently, put together in order.
pub async fn print(client: &Client, items: &[Item], quiet: bool) -> Result<Vec<u8>, Failure> {
    let printer = Printer {
        client,
        quiet,
        terminal: std::io::stdout().is_terminal(),
    };
    let parts: Vec<Vec<u8>> = futures_util::stream::iter(items)
        .map(|item| printer.item(item))
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(parts.concat())
}

struct Printer<'a> {
    client: &'a Client,
    quiet: bool,
    /// Whether stdout is a terminal: binary values are not written there.
    terminal: bool,
}

impl Printer<'_> {
    async fn item(&self, item: &Item) -> Result<Vec<u8>, Failure> {
        let mut out = Vec::new();
        match item {
            Item::Value { label, path } => {
                let value = self.client.get(path).await?;
                self.labelled(&mut out, label, value.as_deref());
            }
            Item::Path { label } => {
                let path = format!("/{}", label.trim_start_matches('/'));
                let value = self.client.get(&path).await?;
                self.labelled(&mut out, label, value.as_deref());
            }
            Item::BlockDeviceMapping => self.block_device_mapping(&mut out).await?,
            Item::PublicKeys => self.public_keys(&mut out).await?,
            Item::Tags => self.tags(&mut out).await?,
        }
        Ok(out)
    }

    /// `LABEL: VALUE` (`VALUE` alone with --quiet), or `not available`
    /// for a value that is missing or empty.
    fn labelled(&self, out: &mut Vec<u8>, label: &str, value: Option<&[u8]>) {
        if !self.quiet {
            out.extend_from_slice(format!("{label}: ").as_bytes());
        }
        match value {
            Some(value) if !value.is_empty() => self.value(out, value),
            _ => line(out, NOT_AVAILABLE.as_bytes()),
        }
    }

    /// A value as IMDS served it, ended by a newline if it has none; on a
    /// terminal, binary data is described rather than written.
    fn value(&self, out: &mut Vec<u8>, value: &[u8]) {
        if output::refuse_binary(value, self.terminal, false) {
            let note = format!(
                "(binary, {} bytes: not written to a terminal; redirect stdout to get them)",
                value.len()
            );
            return line(out, note.as_bytes());
        }
        line(out, value);
    }

    /// A header line (none with --quiet), with the script's trailing space.
    fn header(&self, out: &mut Vec<u8>, item: &Item) {
        if !self.quiet {
            out.extend_from_slice(format!("{item}: \n").as_bytes());
        }
    }

    async fn block_device_mapping(&self, out: &mut Vec<u8>) -> Result<(), Failure> {
        self.header(out, &Item::BlockDeviceMapping);
        let listing = self.text("meta-data/block-device-mapping/").await?;
        let names = words(listing.as_deref());
        if names.is_empty() {
            line(out, NOT_AVAILABLE.as_bytes());
        }
        for name in names {
            if !self.quiet {
                out.extend_from_slice(format!("\t {name}: ").as_bytes());
            }
            let device = self
                .client
                .get(&format!("meta-data/block-device-mapping/{name}"))
                .await?;
            self.value(out, &device.unwrap_or_default());
        }
        Ok(())
    }

    async fn public_keys(&self, out: &mut Vec<u8>) -> Result<(), Failure> {
        self.header(out, &Item::PublicKeys);
        let listing = self.text("meta-data/public-keys/").await?;
        let entries = words(listing.as_deref());
        if entries.is_empty() {
            line(out, NOT_AVAILABLE.as_bytes());
        }
        for entry in entries {
            // `0=my-key`; as `cut -d = -f 1` and `-f 2`.
            let index = entry.split('=').next().unwrap_or(entry);
            let name = entry.split('=').nth(1).unwrap_or(entry);
            if !self.quiet {
                line(out, format!("keyname:{name}").as_bytes());
                line(out, format!("index:{index}").as_bytes());
            }
            let format = self
                .text(&format!("meta-data/public-keys/{index}/"))
                .await?
                .map(|format| format.trim_end_matches('\n').to_owned())
                .unwrap_or_default();
            if !self.quiet {
                line(out, format!("format:{format}").as_bytes());
                line(out, b"key:(begins from next line)");
            }
            let key = if format.is_empty() || format.contains(char::is_whitespace) {
                None
            } else {
                let path = format!("meta-data/public-keys/{index}/{format}");
                self.client.get(&path).await?
            };
            self.value(out, &key.unwrap_or_default());
        }
        Ok(())
    }

    /// The script prints tag keys even with --quiet: so does this.
    async fn tags(&self, out: &mut Vec<u8>) -> Result<(), Failure> {
        self.header(out, &Item::Tags);
        let tags = self.client.tags().await?.unwrap_or_default();
        if tags.is_empty() {
            line(out, NOT_AVAILABLE.as_bytes());
        }
        for (key, value) in tags {
            out.extend_from_slice(format!("\t {key}: ").as_bytes());
            self.value(out, value.as_bytes());
        }
        Ok(())
    }

    /// A listing or a short value as text (invalid UTF-8 replaced); `None`
    /// on 404.
    async fn text(&self, path: &str) -> Result<Option<String>, Failure> {
        let body: Option<Bytes> = self.client.get(path).await?;
        Ok(body.map(|body| String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The words of `listing`, split as the script's `for i in $x` does.
fn words(listing: Option<&str>) -> Vec<&str> {
    listing
        .map(|listing| listing.split_ascii_whitespace().collect())
        .unwrap_or_default()
}

/// `bytes`, then a newline unless they end with one.
fn line(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    if !bytes.ends_with(b"\n") {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_completed_as_the_script_does() {
        for (given, label) in [
            ("placement/region", "latest/meta-data/placement/region"),
            ("meta-data/ami-id", "latest/meta-data/ami-id"),
            ("/meta-data/ami-id", "latest/meta-data/ami-id"),
            (
                "dynamic/instance-identity/document",
                "latest/dynamic/instance-identity/document",
            ),
            ("/latest/meta-data/mac", "/latest/meta-data/mac"),
            ("latest/meta-data/mac", "latest/meta-data/mac"),
            ("//latest//meta-data///mac", "/latest/meta-data/mac"),
            ("2021-07-15/meta-data/", "2021-07-15/meta-data/"),
            ("1.0/meta-data/", "1.0/meta-data/"),
            ("/", "/"),
            ("", "latest/meta-data/"),
            ("user-data", "latest/meta-data/user-data"),
        ] {
            assert_eq!(Item::path(given).to_string(), label, "{given:?}");
        }
    }

    #[test]
    fn binary_values_are_described_on_a_terminal_only() {
        let env = imds::Env::from_map([("AWS_EC2_METADATA_DISABLED", "true")]);
        let client = Client::builder().env(env).build().unwrap();
        let printer = |terminal| Printer {
            client: &client,
            quiet: false,
            terminal,
        };
        let gzip = b"\x1f\x8b\x08\x00";
        let mut out = Vec::new();
        printer(true).labelled(&mut out, "user-data", Some(gzip));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "user-data: (binary, 4 bytes: not written to a terminal; redirect stdout to get them)\n"
        );
        let mut out = Vec::new();
        printer(false).labelled(&mut out, "user-data", Some(gzip));
        assert_eq!(out, b"user-data: \x1f\x8b\x08\x00\n");
        let mut out = Vec::new();
        printer(true).labelled(&mut out, "instance-id", Some(b"i-0123"));
        assert_eq!(out, b"instance-id: i-0123\n");
    }

    #[test]
    fn a_value_ends_with_exactly_one_added_newline_at_most() {
        let mut out = Vec::new();
        line(&mut out, b"a");
        line(&mut out, b"b\n");
        line(&mut out, b"c\n\n");
        line(&mut out, b"");
        line(&mut out, b"nul\0");
        assert_eq!(out, b"a\nb\nc\n\n\nnul\0\n");
    }
}
