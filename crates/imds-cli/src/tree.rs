//! The paths of a tree, from its directory listings alone: what `dump -L`
//! prints and `dump -E` filters before fetching only the values it needs.
//!
//! [`imds::Client::walk`] fetches every value; this reads listings only,
//! with the same rules: the `/latest/` listing names its categories without
//! a trailing `/`, `user-data` is left out, `meta-data/public-keys/` is
//! listed as `INDEX=NAME` and keyed by index, and the same depth and size
//! limits apply.

use std::collections::VecDeque;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use imds::client::DEFAULT_CONCURRENCY;
use imds::error::ResponseError;
use imds::{Client, MAX_WALK_DEPTH, MAX_WALK_ENTRIES, listing};
use serde_json::{Map, Value};

/// A value's place in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The path relative to `/latest/`, each segment percent-encoded as
    /// needed: what `imds get` takes.
    pub path: String,
    /// The keys from the start directory down, as listed (not encoded).
    pub keys: Vec<String>,
}

/// How a directory lists its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/latest/`: categories without a trailing `/`.
    Version,
    /// One entry per line, directories ending in `/`.
    Dir,
    /// `meta-data/public-keys/`: `INDEX=NAME`.
    PublicKeys,
}

#[derive(Debug)]
struct Dir {
    path: String,
    keys: Vec<String>,
    kind: Kind,
}

/// The directory `prefix` names, relative to `/latest/` and ending in `/`
/// (or empty, for `/latest/` itself); `None` for a path outside `/latest/`.
pub fn start_dir(prefix: &str) -> Option<String> {
    let relative = match prefix.strip_prefix("/latest") {
        Some(rest) => rest.strip_prefix('/').or((rest.is_empty()).then_some(""))?,
        None if prefix.starts_with('/') => return None,
        None => prefix,
    };
    let mut dir = relative.to_owned();
    if !dir.is_empty() && !dir.ends_with('/') {
        dir.push('/');
    }
    Some(dir)
}

/// Every value's path under `dir` (see [`start_dir`]), sorted; `None` when
/// `dir` does not exist.
pub async fn leaves(client: &Client, dir: &str) -> Result<Option<Vec<Leaf>>, imds::Error> {
    let mut queue = VecDeque::from([Dir {
        path: dir.to_owned(),
        keys: Vec::new(),
        kind: kind_of(dir),
    }]);
    let mut in_flight = FuturesUnordered::new();
    let mut leaves = Vec::new();
    let mut entries = 0usize;
    let mut found_start = false;
    loop {
        while in_flight.len() < DEFAULT_CONCURRENCY {
            let Some(dir) = queue.pop_front() else { break };
            in_flight.push(async move {
                let listing = client.get_text(&dir.path).await;
                (dir, listing)
            });
        }
        let Some((parent, listing)) = in_flight.next().await else {
            break;
        };
        // A directory gone since its parent was listed is skipped.
        let Some(text) = listing? else { continue };
        found_start |= parent.keys.is_empty();
        for child in children(&parent, &text) {
            entries += 1;
            let too_big = if entries > MAX_WALK_ENTRIES {
                Some(ResponseError::TooManyEntries {
                    limit: MAX_WALK_ENTRIES,
                })
            } else if child.keys().len() > MAX_WALK_DEPTH {
                Some(ResponseError::TooDeep {
                    limit: MAX_WALK_DEPTH,
                })
            } else {
                None
            };
            if let Some(reason) = too_big {
                return Err(imds::Error::bad_response(
                    format!("/latest/{}", parent.path),
                    reason,
                ));
            }
            match child {
                Child::Dir(dir) => queue.push_back(dir),
                Child::Leaf(leaf) => leaves.push(leaf),
            }
        }
    }
    if !found_start {
        return Ok(None);
    }
    leaves.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Some(leaves))
}

enum Child {
    Dir(Dir),
    Leaf(Leaf),
}

impl Child {
    fn keys(&self) -> &[String] {
        match self {
            Child::Dir(dir) => &dir.keys,
            Child::Leaf(leaf) => &leaf.keys,
        }
    }
}

fn kind_of(dir: &str) -> Kind {
    if dir.is_empty() {
        Kind::Version
    } else if dir == "meta-data/public-keys/" {
        Kind::PublicKeys
    } else {
        Kind::Dir
    }
}

/// The entries of `parent`'s listing. Names that cannot be a path segment
/// are skipped.
fn children(parent: &Dir, text: &str) -> Vec<Child> {
    let child = |name: &str, is_dir: bool| {
        let segment = segment(name)?;
        let mut keys = parent.keys.clone();
        keys.push(name.to_owned());
        Some(if is_dir {
            let path = format!("{}{segment}/", parent.path);
            Child::Dir(Dir {
                kind: kind_of(&path),
                path,
                keys,
            })
        } else {
            Child::Leaf(Leaf {
                path: format!("{}{segment}", parent.path),
                keys,
            })
        })
    };
    match parent.kind {
        Kind::Version => listing::parse(text)
            .iter()
            // Categories are listed without their `/`; user-data is bytes.
            .filter(|entry| entry.name() != "user-data")
            .filter_map(|entry| child(entry.name(), true))
            .collect(),
        Kind::Dir => listing::parse(text)
            .iter()
            .filter_map(|entry| child(entry.name(), entry.is_dir()))
            .collect(),
        Kind::PublicKeys => listing::parse_public_keys(text)
            .iter()
            .filter_map(|key| child(&key.index, true))
            .collect(),
    }
}

/// `name` as one path segment, percent-encoded where a URI path needs it
/// (tag keys may hold spaces); `None` for empty, `.`, `..` or names with a
/// `/`.
fn segment(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Some(encoded)
}

/// The values of `leaves`, fetched concurrently, as a tree keyed like
/// [`Client::walk`]'s (JSON documents parsed the same way). A value gone
/// since it was listed is left out.
pub async fn fetch(client: &Client, leaves: &[Leaf]) -> Result<Value, imds::Error> {
    let mut values = futures_util::stream::iter(leaves)
        .map(|leaf| async move { Ok::<_, imds::Error>((leaf, client.walk(&leaf.path).await?)) })
        .buffer_unordered(DEFAULT_CONCURRENCY);
    let mut tree = Map::new();
    while let Some(result) = values.next().await {
        if let (leaf, Some(value)) = result? {
            insert(&mut tree, &leaf.keys, value);
        }
    }
    Ok(Value::Object(tree))
}

/// Puts `value` at `keys`, creating the objects on the way.
fn insert(tree: &mut Map<String, Value>, keys: &[String], value: Value) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = tree;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            // A listing that named a key as a leaf and as a directory.
            *entry = Value::Object(Map::new());
        }
        let Value::Object(map) = entry else { return };
        current = map;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn start_dirs_are_relative_directories() {
        assert_eq!(start_dir("").as_deref(), Some(""));
        assert_eq!(start_dir("/latest").as_deref(), Some(""));
        assert_eq!(start_dir("/latest/").as_deref(), Some(""));
        assert_eq!(start_dir("meta-data").as_deref(), Some("meta-data/"));
        assert_eq!(
            start_dir("/latest/meta-data/placement").as_deref(),
            Some("meta-data/placement/")
        );
        assert_eq!(start_dir("/2021-07-15/meta-data/"), None);
        assert_eq!(start_dir("/latestx/"), None);
    }

    #[test]
    fn children_of_each_kind() {
        let dir = |path: &str| Dir {
            path: path.into(),
            keys: vec![],
            kind: kind_of(path),
        };
        let paths = |children: Vec<Child>| -> Vec<(String, bool)> {
            children
                .into_iter()
                .map(|child| match child {
                    Child::Dir(dir) => (dir.path, true),
                    Child::Leaf(leaf) => (leaf.path, false),
                })
                .collect()
        };
        assert_eq!(
            paths(children(&dir(""), "dynamic\nmeta-data\nuser-data")),
            [("dynamic/".into(), true), ("meta-data/".into(), true)]
        );
        assert_eq!(
            paths(children(
                &dir("meta-data/public-keys/"),
                "0=my-key\n1=other"
            )),
            [
                ("meta-data/public-keys/0/".into(), true),
                ("meta-data/public-keys/1/".into(), true)
            ]
        );
        let tags = children(&dir("meta-data/tags/instance/"), "Name\nA b\n..\nsub/\n");
        assert!(matches!(&tags[1], Child::Leaf(leaf) if leaf.keys == ["A b"]));
        assert_eq!(
            paths(tags),
            [
                ("meta-data/tags/instance/Name".into(), false),
                ("meta-data/tags/instance/A%20b".into(), false),
                ("meta-data/tags/instance/sub/".into(), true),
            ]
        );
        assert_eq!(kind_of("meta-data/public-keys/"), Kind::PublicKeys);
    }

    #[test]
    fn insert_builds_nested_objects() {
        let mut tree = Map::new();
        let keys = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        insert(&mut tree, &keys(&["a", "b"]), json!("x"));
        insert(&mut tree, &keys(&["a", "c", "d"]), json!({"doc": 1}));
        insert(&mut tree, &keys(&["e"]), json!("y"));
        insert(&mut tree, &keys(&["e", "f"]), json!("z"));
        insert(&mut tree, &[], json!("ignored"));
        assert_eq!(
            Value::Object(tree),
            json!({"a": {"b": "x", "c": {"d": {"doc": 1}}}, "e": {"f": "z"}})
        );
    }
}
