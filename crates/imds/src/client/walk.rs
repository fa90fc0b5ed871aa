//! [`Client::walk`]: a whole tree, or a subtree, as one JSON value.

use std::collections::VecDeque;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Map, Value};

use super::{Client, Enabled, path};
use crate::document;
use crate::error::{Error, ResponseError};
use crate::listing;

/// How many levels below the walked path a walk descends at most.
pub const MAX_WALK_DEPTH: usize = 16;
/// How many entries a walk fetches at most.
pub const MAX_WALK_ENTRIES: usize = 10_000;

/// Leaves holding JSON, relative to the version (`/latest/`); a trailing
/// `/` matches every leaf below.
const JSON_LEAVES: &[&str] = &[
    "dynamic/instance-identity/document",
    "meta-data/events/",
    "meta-data/iam/info",
    "meta-data/iam/security-credentials/",
    "meta-data/identity-credentials/ec2/info",
    "meta-data/identity-credentials/ec2/security-credentials/",
    "meta-data/spot/instance-action",
];

/// What a path of the walk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/latest/` (or another version): its listing names the categories
    /// without a trailing `/`.
    Version,
    /// A directory listing.
    Dir,
    /// `meta-data/public-keys/`, listed as `INDEX=NAME`.
    PublicKeys,
    /// A value.
    Leaf,
}

/// One path to fetch, and where its value goes in the result.
#[derive(Debug)]
struct Node {
    path: String,
    keys: Vec<String>,
    kind: Kind,
}

impl Client {
    /// Everything under `prefix`, fetched concurrently (at most
    /// [`concurrency`](super::ClientBuilder::concurrency) requests in
    /// flight), as one JSON value; `None` when `prefix` is absent (404).
    ///
    /// `prefix` is a path as for [`get`](Self::get): `""` (or `/latest/`)
    /// walks the whole tree, `meta-data/placement/` a subtree; a path
    /// without a trailing `/` is a single leaf.
    ///
    /// - A directory is an object keyed by its entries as listed (without
    ///   the trailing `/`). `meta-data/public-keys/`, listed as
    ///   `0=my-key`, is keyed by index (`"0"`), the segment of the path.
    /// - A leaf known to hold JSON (the identity document, `iam/info`, the
    ///   role credentials, `events/...`, `spot/instance-action`,
    ///   `identity-credentials/ec2/...`) is parsed; if it does not parse,
    ///   and for every other leaf, the value is a string (invalid UTF-8
    ///   replaced by U+FFFD).
    /// - `user-data` is left out: it is arbitrary bytes, often secret; read
    ///   it with [`user_data`](Self::user_data).
    /// - **The role credentials are included**, secrets and all, at
    ///   `meta-data/iam/security-credentials/ROLE`: they are part of the
    ///   tree. Remove them before printing or logging the value.
    /// - An entry that vanishes between its listing and its fetch (404) is
    ///   left out; any other failure fails the walk. A tree deeper than
    ///   [`MAX_WALK_DEPTH`] or larger than [`MAX_WALK_ENTRIES`] fails with
    ///   [`Error::BadResponse`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let tree = client.walk("").await?.unwrap();
    /// assert_eq!(tree["meta-data"]["placement"]["region"], "us-east-1");
    /// assert_eq!(tree["dynamic"]["instance-identity"]["document"]["region"], "us-east-1");
    /// assert!(tree.get("user-data").is_none());
    ///
    /// let placement = client.walk("meta-data/placement/").await?.unwrap();
    /// assert_eq!(placement["availability-zone"], "us-east-1a");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn walk(&self, prefix: &str) -> Result<Option<Value>, Error> {
        self.walk_matching(prefix, |_| true).await
    }

    /// [`walk`](Self::walk), fetching only the values whose path `keep`
    /// accepts: listings are read first, and a value is fetched only when
    /// kept, so a narrow filter costs few requests. `keep` sees each value's
    /// path relative to the version, as [`get`](Self::get) takes it
    /// (`meta-data/placement/region`, percent-encoded where needed).
    /// Directories with no kept value are left out; `Some` of an empty
    /// object when nothing is kept.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let tree = client
    ///     .walk_matching("", |path| path.starts_with("meta-data/placement/"))
    ///     .await?
    ///     .unwrap();
    /// assert_eq!(tree["meta-data"]["placement"]["region"], "us-east-1");
    /// assert!(tree.get("dynamic").is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn walk_matching(
        &self,
        prefix: &str,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Result<Option<Value>, Error> {
        let enabled = self.enabled()?;
        let start = path::absolute(prefix)?;
        let kind = kind_of(&start);
        let start = Node {
            path: start,
            keys: Vec::new(),
            kind,
        };
        let mut keep_leaf = |node: &Node| keep(relative(&node.path));
        walk(enabled, start, &mut keep_leaf).await
    }

    /// The paths of every value under `prefix`, sorted, read from the
    /// listings alone (no value is fetched): what
    /// [`walk`](Self::walk) would fetch, as [`walk_matching`](Self::walk_matching)
    /// shows them to its filter. `None` when `prefix` is absent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mock = imds_mock::MockImds::start_default().await?;
    /// let client = imds::Client::builder().endpoint(mock.base_url()).build()?;
    /// let paths = client.paths("meta-data/placement/").await?.unwrap();
    /// assert!(paths.contains(&"meta-data/placement/region".to_owned()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn paths(&self, prefix: &str) -> Result<Option<Vec<String>>, Error> {
        let mut paths = Vec::new();
        let found = self
            .walk_matching(prefix, |path| {
                paths.push(path.to_owned());
                false
            })
            .await?;
        Ok(found.map(|_| {
            paths.sort();
            paths
        }))
    }
}

/// `path` relative to its version: `/latest/meta-data/x` -> `meta-data/x`.
fn relative(path: &str) -> &str {
    path.strip_prefix('/')
        .and_then(|rest| rest.split_once('/'))
        .map_or(path, |(_, relative)| relative)
}

/// What the walk's starting path is.
fn kind_of(path: &str) -> Kind {
    if path.ends_with("meta-data/public-keys/") {
        Kind::PublicKeys
    } else if path.len() > 2 && path.ends_with('/') && path.matches('/').count() == 2 {
        Kind::Version
    } else if path.ends_with('/') {
        Kind::Dir
    } else {
        Kind::Leaf
    }
}

async fn fetch(enabled: &Enabled, node: Node) -> Result<(Node, Option<Bytes>), Error> {
    let body = enabled.fetch(&node.path).await?;
    Ok((node, body))
}

/// The walk: `keep` decides which values are fetched. When it refuses
/// one, directories left without values are pruned at the end.
async fn walk(
    enabled: &Enabled,
    start: Node,
    keep: &mut dyn FnMut(&Node) -> bool,
) -> Result<Option<Value>, Error> {
    let mut tree: Option<Value> = None;
    let mut refused = false;
    let mut queue = Queue::default();
    queue.push(start);
    let mut in_flight = FuturesUnordered::new();
    let mut entries = 0usize;
    loop {
        while in_flight.len() < enabled.concurrency {
            let Some(node) = queue.pop() else { break };
            in_flight.push(fetch(enabled, node));
        }
        let Some(result) = in_flight.next().await else {
            break;
        };
        let (node, body) = result?;
        let Some(body) = body else { continue };
        if node.kind == Kind::Leaf {
            insert(&mut tree, &node.keys, leaf_value(&node.path, &body));
            continue;
        }
        insert(&mut tree, &node.keys, Value::Object(Map::new()));
        let text = document::parse_text(&node.path, &body)?;
        for child in children(&node, text) {
            entries += 1;
            if entries > MAX_WALK_ENTRIES {
                let reason = ResponseError::TooManyEntries {
                    limit: MAX_WALK_ENTRIES,
                };
                return Err(Error::bad_response(node.path, reason));
            }
            if child.keys.len() > MAX_WALK_DEPTH {
                let reason = ResponseError::TooDeep {
                    limit: MAX_WALK_DEPTH,
                };
                return Err(Error::bad_response(node.path, reason));
            }
            if child.kind == Kind::Leaf && !keep(&child) {
                refused = true;
                continue;
            }
            queue.push(child);
        }
    }
    if refused && let Some(tree) = &mut tree {
        prune(tree);
    }
    Ok(tree)
}

/// Removes the objects left empty below `value`.
fn prune(value: &mut Value) {
    if let Value::Object(map) = value {
        map.values_mut().for_each(prune);
        map.retain(|_, child| !matches!(child, Value::Object(child) if child.is_empty()));
    }
}

/// The paths waiting for a free request slot: listings before values.
///
/// A listing is on the walk's critical path (it names what to fetch next,
/// down to the deepest level), a value is not; a listing that waited
/// behind the values listed with it would add round trips to the walk.
/// Once only values are left, their order does not change when the walk
/// ends: every slot is busy until the last one.
#[derive(Default)]
struct Queue {
    listings: VecDeque<Node>,
    values: VecDeque<Node>,
}

impl Queue {
    fn push(&mut self, node: Node) {
        match node.kind {
            Kind::Leaf => self.values.push_back(node),
            Kind::Version | Kind::Dir | Kind::PublicKeys => self.listings.push_back(node),
        }
    }

    fn pop(&mut self) -> Option<Node> {
        self.listings
            .pop_front()
            .or_else(|| self.values.pop_front())
    }
}

/// The entries of a listing, as nodes to fetch. Entries that cannot be a
/// path segment are skipped.
fn children(parent: &Node, listing_text: &str) -> Vec<Node> {
    let child = |name: &str, dir: bool| {
        let segment = path::segment(name)?;
        let mut keys = parent.keys.clone();
        keys.push(name.to_owned());
        let (path, kind) = if dir {
            let path = format!("{}{segment}/", parent.path);
            let kind = if path.ends_with("meta-data/public-keys/") {
                Kind::PublicKeys
            } else {
                Kind::Dir
            };
            (path, kind)
        } else {
            (format!("{}{segment}", parent.path), Kind::Leaf)
        };
        Some(Node { path, keys, kind })
    };
    match parent.kind {
        Kind::PublicKeys => listing::parse_public_keys(listing_text)
            .iter()
            .filter_map(|key| child(&key.index, true))
            .collect(),
        Kind::Version => listing::parse(listing_text)
            .iter()
            // Categories are listed without their `/`; user-data is bytes.
            .filter(|entry| entry.name() != "user-data")
            .filter_map(|entry| child(entry.name(), true))
            .collect(),
        Kind::Dir => listing::parse(listing_text)
            .iter()
            .filter_map(|entry| child(entry.name(), entry.is_dir()))
            .collect(),
        Kind::Leaf => Vec::new(),
    }
}

/// Puts `value` at `keys` in `tree`. Parents are inserted before their
/// children are fetched, so they exist; if one does not (a listing that
/// names a key twice, as a leaf and a directory), the value is dropped.
fn insert(tree: &mut Option<Value>, keys: &[String], value: Value) {
    let Some((last, parents)) = keys.split_last() else {
        *tree = Some(value);
        return;
    };
    let mut current = match tree {
        Some(Value::Object(map)) => map,
        _ => return,
    };
    for key in parents {
        current = match current.get_mut(key) {
            Some(Value::Object(map)) => map,
            _ => return,
        };
    }
    current.insert(last.clone(), value);
}

/// A leaf's value: parsed JSON where the format is known to be JSON, else
/// text.
fn leaf_value(path: &str, body: &[u8]) -> Value {
    let relative = relative(path);
    let is_json = JSON_LEAVES
        .iter()
        .any(|known| match known.strip_suffix('/') {
            Some(dir) => relative
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1),
            None => relative == *known,
        });
    if is_json && let Ok(value) = serde_json::from_slice(body) {
        return value;
    }
    Value::String(String::from_utf8_lossy(body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn start_kinds() {
        assert_eq!(kind_of("/latest/"), Kind::Version);
        assert_eq!(kind_of("/2021-07-15/"), Kind::Version);
        assert_eq!(kind_of("/"), Kind::Dir);
        assert_eq!(kind_of("/latest/meta-data/"), Kind::Dir);
        assert_eq!(kind_of("/latest/meta-data/public-keys/"), Kind::PublicKeys);
        assert_eq!(kind_of("/latest/meta-data/ami-id"), Kind::Leaf);
    }

    #[test]
    fn json_leaves_are_parsed_and_others_are_text() {
        let doc = br#"{"region": "r"}"#;
        assert_eq!(
            leaf_value("/latest/dynamic/instance-identity/document", doc),
            json!({"region": "r"})
        );
        assert_eq!(
            leaf_value("/latest/meta-data/iam/security-credentials/role", doc),
            json!({"region": "r"})
        );
        assert_eq!(
            leaf_value("/latest/meta-data/events/maintenance/scheduled", b"[]"),
            json!([])
        );
        // A tag that looks like JSON stays text.
        assert_eq!(
            leaf_value("/latest/meta-data/tags/instance/Doc", doc),
            json!(r#"{"region": "r"}"#)
        );
        // A known-JSON leaf that is not JSON stays text.
        assert_eq!(
            leaf_value("/latest/meta-data/iam/info", b"oops"),
            json!("oops")
        );
        assert_eq!(
            leaf_value("/latest/meta-data/ami-id", b"\xffx"),
            json!("\u{fffd}x")
        );
    }

    #[test]
    fn children_of_each_kind() {
        let node = |path: &str, kind| Node {
            path: path.into(),
            keys: vec![],
            kind,
        };
        let version = children(
            &node("/latest/", Kind::Version),
            "dynamic\nmeta-data\nuser-data",
        );
        let paths: Vec<_> = version.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["/latest/dynamic/", "/latest/meta-data/"]);
        let keys = children(
            &node("/latest/meta-data/public-keys/", Kind::PublicKeys),
            "0=my-key\n",
        );
        assert_eq!(keys[0].path, "/latest/meta-data/public-keys/0/");
        assert_eq!(keys[0].keys, ["0"]);
        let dir = children(
            &node("/latest/meta-data/tags/instance/", Kind::Dir),
            "Name\nA b\n..\nsub/\n",
        );
        let paths: Vec<_> = dir.iter().map(|n| (n.path.as_str(), n.kind)).collect();
        assert_eq!(
            paths,
            [
                ("/latest/meta-data/tags/instance/Name", Kind::Leaf),
                ("/latest/meta-data/tags/instance/A%20b", Kind::Leaf),
                ("/latest/meta-data/tags/instance/sub/", Kind::Dir),
            ]
        );
        assert_eq!(dir[1].keys, ["A b"]);
    }

    #[test]
    fn listings_leave_the_queue_before_values() {
        let node = |path: &str, kind| Node {
            path: path.into(),
            keys: vec![],
            kind,
        };
        let mut queue = Queue::default();
        queue.push(node("a", Kind::Leaf));
        queue.push(node("b/", Kind::Dir));
        queue.push(node("c", Kind::Leaf));
        queue.push(node("d/", Kind::PublicKeys));
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).map(|n| n.path).collect();
        assert_eq!(order, ["b/", "d/", "a", "c"]);
    }

    // With one request at a time, every listing of the tree is read before
    // any value: a value is sent only when no listing is waiting, and then
    // none is left to be found.
    #[tokio::test]
    async fn one_at_a_time_every_listing_comes_before_every_value() {
        let mock = imds_mock::MockImds::builder()
            .tags_enabled(true)
            .build()
            .start()
            .await
            .unwrap();
        let client = Client::builder()
            .env(crate::Env::from_map::<_, String, String>([]))
            .endpoint(mock.base_url())
            .concurrency(1)
            .build()
            .unwrap();
        let tree = client.walk("meta-data/").await.unwrap().unwrap();
        assert!(tree["network"]["interfaces"]["macs"].is_object());
        let reads: Vec<String> = mock
            .requests()
            .into_iter()
            .filter(|r| r.method == http::Method::GET)
            .map(|r| r.path)
            .collect();
        let first_value = reads.iter().position(|p| !p.ends_with('/')).unwrap();
        let listings = reads.iter().filter(|p| p.ends_with('/')).count();
        assert_eq!(first_value, listings, "{reads:#?}");
        assert!(listings > 10, "{reads:#?}");
    }

    /// The mock's default instance with 4 network interfaces, 12 tags, 6
    /// block devices and 3 keys, without its IPv6 fields (the count below
    /// was made before the mock had them): 131 reads over 8 levels (the
    /// identity document and its 3 signatures among them).
    fn busy_instance() -> imds_mock::Config {
        let nic = format!(
            "meta-data/network/interfaces/macs/{}",
            imds_mock::defaults::MAC
        );
        let mut builder = imds_mock::MockImds::builder()
            .remove("meta-data/ipv6")
            .remove(format!("{nic}/ipv6s"))
            .remove(format!("{nic}/subnet-ipv6-cidr-blocks"))
            .remove(format!("{nic}/vpc-ipv6-cidr-blocks"))
            .tags_enabled(true)
            .tags((1..=12).map(|i| (format!("tag-{i:02}"), "value")))
            .public_keys((1..=3).map(|i| (format!("key-{i}"), "ssh-ed25519 AAAA")));
        for ebs in 1..=4 {
            builder = builder.metadata(format!("meta-data/block-device-mapping/ebs{ebs}"), "sdb");
        }
        for eni in 1..=3 {
            let mac = format!("meta-data/network/interfaces/macs/0e:8f:62:3a:d1:4{eni}");
            let leaves = [
                "device-number",
                "interface-id",
                "local-hostname",
                "local-ipv4s",
                "mac",
                "owner-id",
                "security-group-ids",
                "security-groups",
                "subnet-id",
                "subnet-ipv4-cidr-block",
                "vpc-id",
                "vpc-ipv4-cidr-block",
                "vpc-ipv4-cidr-blocks",
            ];
            for leaf in leaves {
                builder = builder.metadata(format!("{mac}/{leaf}"), "x");
            }
        }
        builder.build()
    }

    // On a paused clock only the mock's latency takes time, so the walk's
    // duration over the latency counts the round trips it waited for one
    // after another: its scheduling, exactly. With 16 in flight, 131 reads
    // over 8 levels need at least 10 (the first two levels have 1 and 2
    // reads, the other 128 fill at most 16 slots a round); sending values
    // and listings in the order they were listed needed 11.
    #[tokio::test(start_paused = true)]
    async fn sixteen_in_flight_walk_a_busy_instance_in_the_fewest_round_trips() {
        let latency = std::time::Duration::from_millis(1);
        let mock = busy_instance().start().await.unwrap();
        let client = Client::builder()
            .env(crate::Env::from_map::<_, String, String>([]))
            .endpoint(mock.base_url())
            .concurrency(16)
            .build()
            .unwrap();
        client.get("meta-data/ami-id").await.unwrap();
        mock.set_latency(latency);
        let reads = mock.stats().reads;
        let start = tokio::time::Instant::now();
        client.walk("").await.unwrap().unwrap();
        let round_trips = start.elapsed().as_nanos() / latency.as_nanos();
        assert_eq!(mock.stats().reads - reads, 131);
        assert_eq!(round_trips, 10);
    }

    #[test]
    fn insert_builds_nested_objects() {
        let mut tree = None;
        insert(&mut tree, &[], json!({}));
        insert(&mut tree, &["a".into()], json!({}));
        insert(&mut tree, &["a".into(), "b".into()], json!("x"));
        // No parent: dropped, no panic.
        insert(&mut tree, &["z".into(), "b".into()], json!("y"));
        insert(&mut tree, &["a".into(), "b".into(), "c".into()], json!("y"));
        assert_eq!(tree, Some(json!({"a": {"b": "x"}})));
    }
}
