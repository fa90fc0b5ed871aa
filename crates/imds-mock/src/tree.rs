//! The metadata tree under `/latest/`: the default instance, the config's
//! changes, and path lookup with IMDS's listing rules.
//!
//! Paths are kept relative to `/latest/` (`meta-data/instance-id`). A path
//! that has children is a directory; its listing has one entry per line,
//! sub-directories ending in `/`, sorted, with no trailing newline. Two
//! listings differ, as on a real instance: `/latest/` itself lists
//! `dynamic`, `meta-data`, `user-data` without slashes, and
//! `meta-data/public-keys/` lists `0=key-name`.

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::Bytes;
use serde_json::Value;

use crate::config::Config;
use crate::json;
use crate::path::normalize;

/// Values of the default instance; the identity document, the network
/// interface and the IAM ARN agree with them.
pub mod defaults {
    /// `meta-data/instance-id`.
    pub const INSTANCE_ID: &str = "i-0b22a22eec53b9321";
    /// `meta-data/ami-id`.
    pub const AMI_ID: &str = "ami-0c02fb55956c7d316";
    /// `meta-data/instance-type`.
    pub const INSTANCE_TYPE: &str = "t3.micro";
    /// `meta-data/placement/region`.
    pub const REGION: &str = "us-east-1";
    /// `meta-data/placement/availability-zone`.
    pub const AVAILABILITY_ZONE: &str = "us-east-1a";
    /// `meta-data/placement/availability-zone-id`.
    pub const AVAILABILITY_ZONE_ID: &str = "use1-az4";
    /// `meta-data/local-ipv4`.
    pub const LOCAL_IPV4: &str = "172.31.20.7";
    /// `meta-data/public-ipv4` (a documentation address, TEST-NET-3).
    pub const PUBLIC_IPV4: &str = "203.0.113.10";
    /// `meta-data/hostname` and `meta-data/local-hostname`.
    pub const HOSTNAME: &str = "ip-172-31-20-7.ec2.internal";
    /// `meta-data/public-hostname`.
    pub const PUBLIC_HOSTNAME: &str = "ec2-203-0-113-10.compute-1.amazonaws.com";
    /// `meta-data/ipv6` and the interface's `ipv6s` (a documentation
    /// address, 2001:db8::/32, inside [`SUBNET_IPV6_CIDR_BLOCK`]).
    pub const IPV6: &str = "2001:db8:7a1f:4c10:5d3e:8f2b:9d14:7a06";
    /// The interface's `subnet-ipv6-cidr-blocks`: a /64 of [`VPC_IPV6_CIDR_BLOCK`].
    pub const SUBNET_IPV6_CIDR_BLOCK: &str = "2001:db8:7a1f:4c10::/64";
    /// The interface's `vpc-ipv6-cidr-blocks`: the VPC's /56.
    pub const VPC_IPV6_CIDR_BLOCK: &str = "2001:db8:7a1f:4c00::/56";
    /// `meta-data/mac`.
    pub const MAC: &str = "0e:8f:62:3a:d1:47";
    /// The account (`accountId`, `owner-id`, the instance profile ARN).
    pub const ACCOUNT_ID: &str = "123456789012";
    /// `meta-data/network/interfaces/macs/<mac>/subnet-id`.
    pub const SUBNET_ID: &str = "subnet-0a1b2c3d4e5f60718";
    /// `meta-data/network/interfaces/macs/<mac>/vpc-id`.
    pub const VPC_ID: &str = "vpc-0f1e2d3c4b5a69788";
    /// `pendingTime` in the identity document (the launch time).
    pub const PENDING_TIME: &str = "2026-01-05T08:30:00Z";
    /// `InstanceProfileId` in `meta-data/iam/info`.
    pub const INSTANCE_PROFILE_ID: &str = "AIPAMOCKINSTANCEPROF1";
}

/// What a leaf holds: fixed bytes, or content made at request time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Static(Bytes),
    /// `meta-data/iam/info`: its `LastUpdated` follows the credentials.
    IamInfo,
    /// `meta-data/iam/security-credentials/<role>`: rotating credentials.
    RoleCredentials,
    /// `dynamic/instance-identity/document`, built from the current
    /// meta-data so that the two always agree.
    IdentityDocument,
    /// `dynamic/instance-identity/<form>`: a signature over the document
    /// served at the time.
    #[cfg(feature = "signing")]
    IdentitySignature(crate::signing::SignatureForm),
}

/// The answer to a path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Leaf(Node),
    Listing(String),
    NotFound,
}

/// The metadata tree of one instance.
#[derive(Debug)]
pub(crate) struct Tree {
    leaves: BTreeMap<String, Node>,
    /// Public key index -> key pair name, for the `0=name` listing.
    key_names: BTreeMap<String, String>,
    /// Directory (normalised, no trailing `/`) -> listing served verbatim.
    listings: BTreeMap<String, String>,
    role_name: Option<String>,
    /// The identity document's `accountId`, also in `owner-id` and the
    /// instance profile ARN.
    account_id: String,
    /// The identity document's `pendingTime`.
    pending_time: String,
}

impl Tree {
    /// The default instance with `config` applied.
    pub(crate) fn from_config(config: &Config) -> Self {
        use defaults::*;
        let mut tree = Self {
            leaves: BTreeMap::new(),
            key_names: BTreeMap::new(),
            listings: BTreeMap::new(),
            role_name: config.role_name.clone(),
            account_id: config
                .account_id
                .clone()
                .unwrap_or_else(|| ACCOUNT_ID.to_owned()),
            pending_time: config
                .pending_time
                .clone()
                .unwrap_or_else(|| PENDING_TIME.to_owned()),
        };
        let nic = format!("meta-data/network/interfaces/macs/{MAC}/");
        let leaves: &[(&str, &str)] = &[
            ("meta-data/ami-id", AMI_ID),
            ("meta-data/ami-launch-index", "0"),
            ("meta-data/ami-manifest-path", "(unknown)"),
            ("meta-data/block-device-mapping/ami", "/dev/xvda"),
            ("meta-data/block-device-mapping/root", "/dev/xvda"),
            ("meta-data/events/maintenance/history", "[]"),
            ("meta-data/events/maintenance/scheduled", "[]"),
            ("meta-data/hostname", HOSTNAME),
            ("meta-data/instance-action", "none"),
            ("meta-data/instance-id", INSTANCE_ID),
            ("meta-data/instance-life-cycle", "on-demand"),
            ("meta-data/instance-type", INSTANCE_TYPE),
            ("meta-data/ipv6", IPV6),
            ("meta-data/local-hostname", HOSTNAME),
            ("meta-data/local-ipv4", LOCAL_IPV4),
            ("meta-data/mac", MAC),
            ("meta-data/placement/availability-zone", AVAILABILITY_ZONE),
            (
                "meta-data/placement/availability-zone-id",
                AVAILABILITY_ZONE_ID,
            ),
            ("meta-data/placement/region", REGION),
            ("meta-data/profile", "default-hvm"),
            ("meta-data/public-hostname", PUBLIC_HOSTNAME),
            ("meta-data/public-ipv4", PUBLIC_IPV4),
            ("meta-data/reservation-id", "r-0fedcba9876543210"),
            ("meta-data/security-groups", "default"),
            ("meta-data/services/domain", "amazonaws.com"),
            ("meta-data/services/partition", "aws"),
            ("meta-data/system", "nitro"),
        ];
        for (path, value) in leaves {
            tree.set(path, *value);
        }
        let nic_leaves: &[(&str, &str)] = &[
            ("device-number", "0"),
            ("interface-id", "eni-0a9b8c7d6e5f40312"),
            ("ipv6s", IPV6),
            ("local-hostname", HOSTNAME),
            ("local-ipv4s", LOCAL_IPV4),
            ("mac", MAC),
            ("public-hostname", PUBLIC_HOSTNAME),
            ("public-ipv4s", PUBLIC_IPV4),
            ("security-group-ids", "sg-0123456789abcdef0"),
            ("security-groups", "default"),
            ("subnet-id", SUBNET_ID),
            ("subnet-ipv4-cidr-block", "172.31.16.0/20"),
            ("subnet-ipv6-cidr-blocks", SUBNET_IPV6_CIDR_BLOCK),
            ("vpc-id", VPC_ID),
            ("vpc-ipv4-cidr-block", "172.31.0.0/16"),
            ("vpc-ipv4-cidr-blocks", "172.31.0.0/16"),
            ("vpc-ipv6-cidr-blocks", VPC_IPV6_CIDR_BLOCK),
        ];
        for (leaf, value) in nic_leaves {
            tree.set(&format!("{nic}{leaf}"), *value);
        }
        tree.set(&format!("{nic}owner-id"), tree.account_id.clone());
        tree.set(&format!("{nic}ipv4-associations/{PUBLIC_IPV4}"), LOCAL_IPV4);
        if let Some(role) = &config.role_name {
            tree.leaves
                .insert("meta-data/iam/info".into(), Node::IamInfo);
            tree.leaves.insert(
                format!("meta-data/iam/security-credentials/{role}"),
                Node::RoleCredentials,
            );
        }
        for (index, key) in config.public_keys.iter().enumerate() {
            tree.set(
                &format!("meta-data/public-keys/{index}/openssh-key"),
                key.openssh_key.clone(),
            );
            tree.key_names.insert(index.to_string(), key.name.clone());
        }
        if config.tags_enabled {
            for (key, value) in &config.tags {
                tree.set(&format!("meta-data/tags/instance/{key}"), value.clone());
            }
        }
        if let Some(user_data) = &config.user_data {
            tree.set("user-data", user_data.as_bytes().to_vec());
        }
        tree.leaves.insert(
            "dynamic/instance-identity/document".into(),
            Node::IdentityDocument,
        );
        #[cfg(feature = "signing")]
        for form in crate::signing::SignatureForm::ALL {
            tree.leaves
                .insert(form.path().into(), Node::IdentitySignature(form));
        }
        for (path, value) in &config.metadata {
            if let Some(path) = normalize(path) {
                tree.set(&path, value.clone());
            }
        }
        for path in &config.remove {
            if let Some(path) = normalize(path) {
                tree.remove(&path);
            }
        }
        tree
    }

    /// Adds or replaces a static leaf (`path` already normalised), removing
    /// any directory of that name so that the path stays a leaf.
    pub(crate) fn set(&mut self, path: &str, value: impl Into<Bytes>) {
        self.remove(path);
        self.leaves
            .insert(path.to_owned(), Node::Static(value.into()));
    }

    /// Serves `text` as the listing of the directory `path` (already
    /// normalised), whatever its entries are.
    pub(crate) fn set_listing(&mut self, path: &str, text: String) {
        self.listings.insert(path.to_owned(), text);
    }

    /// Removes the leaf at `path` and everything under `path/`, listing
    /// overrides included.
    pub(crate) fn remove(&mut self, path: &str) {
        let dir = format!("{path}/");
        self.leaves
            .retain(|key, _| key != path && !key.starts_with(&dir));
        self.listings
            .retain(|key, _| key != path && !key.starts_with(&dir));
    }

    /// Resolves a path relative to `/latest/`. A directory is listed with or
    /// without its trailing slash; a leaf is served with or without one too,
    /// as IMDS serves it (botocore's region fetcher reads
    /// `placement/availability-zone/`).
    pub(crate) fn lookup(&self, path: &str) -> Lookup {
        if path.is_empty() || path.ends_with('/') {
            if let Some(listing) = self.listing(path) {
                return Lookup::Listing(listing);
            }
            return match self.leaves.get(path.trim_end_matches('/')) {
                Some(node) if !path.is_empty() => Lookup::Leaf(node.clone()),
                _ => Lookup::NotFound,
            };
        }
        if let Some(node) = self.leaves.get(path) {
            return Lookup::Leaf(node.clone());
        }
        self.listing(&format!("{path}/"))
            .map_or(Lookup::NotFound, Lookup::Listing)
    }

    /// The listing of `dir` (empty or ending in `/`): an override, else
    /// one built from the entries.
    fn listing(&self, dir: &str) -> Option<String> {
        match self.listings.get(dir.strip_suffix('/').unwrap_or(dir)) {
            Some(text) => Some(text.clone()),
            None => self.entries_listing(dir),
        }
    }

    fn entries_listing(&self, dir: &str) -> Option<String> {
        let mut entries: Vec<String> = Vec::new();
        let children = self
            .leaves
            .range::<str, _>((Bound::Included(dir), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(dir));
        for key in children {
            let rest = &key[dir.len()..];
            let entry = match rest.find('/') {
                Some(slash) => &rest[..=slash],
                None => rest,
            };
            if !entries.iter().any(|e| e == entry) {
                entries.push(entry.to_owned());
            }
        }
        if entries.is_empty() {
            return None;
        }
        if dir.is_empty() {
            for entry in &mut entries {
                entry.truncate(entry.trim_end_matches('/').len());
            }
        } else if dir == "meta-data/public-keys/" {
            for entry in &mut entries {
                let index = entry.trim_end_matches('/');
                if let Some(name) = self.key_names.get(index) {
                    *entry = format!("{index}={name}");
                }
            }
        }
        Some(entries.join("\n"))
    }

    /// The role whose credentials are served, if the tree still has them.
    pub(crate) fn role_name(&self) -> Option<&str> {
        self.role_name.as_deref()
    }

    fn text(&self, path: &str) -> Value {
        match self.leaves.get(path) {
            Some(Node::Static(bytes)) => {
                std::str::from_utf8(bytes).map_or(Value::Null, Value::from)
            }
            _ => Value::Null,
        }
    }

    /// `dynamic/instance-identity/document` from the current meta-data.
    pub(crate) fn identity_document(&self) -> String {
        json::render_object(&[
            ("accountId", Value::from(self.account_id.as_str())),
            ("architecture", Value::from("x86_64")),
            (
                "availabilityZone",
                self.text("meta-data/placement/availability-zone"),
            ),
            ("billingProducts", Value::Null),
            ("devpayProductCodes", Value::Null),
            ("marketplaceProductCodes", Value::Null),
            ("imageId", self.text("meta-data/ami-id")),
            ("instanceId", self.text("meta-data/instance-id")),
            ("instanceType", self.text("meta-data/instance-type")),
            ("kernelId", Value::Null),
            ("pendingTime", Value::from(self.pending_time.as_str())),
            ("privateIp", self.text("meta-data/local-ipv4")),
            ("ramdiskId", Value::Null),
            ("region", self.text("meta-data/placement/region")),
            ("version", Value::from("2017-09-30")),
        ])
    }

    /// The bytes `dynamic/instance-identity/document` serves now (built,
    /// or set by the test); `None` once removed.
    #[cfg(feature = "signing")]
    pub(crate) fn served_identity_document(&self) -> Option<Bytes> {
        match self.leaves.get("dynamic/instance-identity/document")? {
            Node::IdentityDocument => Some(self.identity_document().into()),
            Node::Static(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }

    /// `meta-data/iam/info` for the given credential issue time.
    pub(crate) fn iam_info(&self, last_updated: &str) -> String {
        let role = self.role_name().unwrap_or_default();
        json::render_object(&[
            ("Code", Value::from("Success")),
            ("LastUpdated", Value::from(last_updated)),
            (
                "InstanceProfileArn",
                Value::from(format!(
                    "arn:aws:iam::{}:instance-profile/{role}",
                    self.account_id
                )),
            ),
            (
                "InstanceProfileId",
                Value::from(defaults::INSTANCE_PROFILE_ID),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(tree: &Tree, path: &str) -> String {
        match tree.lookup(path) {
            Lookup::Listing(text) => text,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn listings_follow_imds_rules() {
        let tree = Tree::from_config(&Config::default());
        assert_eq!(listing(&tree, ""), "dynamic\nmeta-data\nuser-data");
        assert_eq!(
            listing(&tree, "meta-data/placement/"),
            "availability-zone\navailability-zone-id\nregion"
        );
        assert_eq!(
            listing(&tree, "meta-data/placement"),
            listing(&tree, "meta-data/placement/")
        );
        assert_eq!(listing(&tree, "meta-data/public-keys/"), "0=my-key");
        assert_eq!(listing(&tree, "meta-data/public-keys/0/"), "openssh-key");
        assert!(listing(&tree, "meta-data/").contains("\niam/\n"));
        assert_eq!(
            tree.lookup("meta-data/instance-id/"),
            tree.lookup("meta-data/instance-id")
        );
        assert!(matches!(
            tree.lookup("meta-data/instance-id/"),
            Lookup::Leaf(Node::Static(_))
        ));
        assert_eq!(tree.lookup("meta-data/nope"), Lookup::NotFound);
        assert_eq!(tree.lookup("meta-data/tags/instance/"), Lookup::NotFound);
    }

    #[test]
    fn overrides_and_removals() {
        let config = Config::builder()
            .metadata("/latest/meta-data/instance-id", "i-override")
            .metadata("meta-data/spot/instance-action", "{}")
            .remove("meta-data/placement/")
            .no_role()
            .build();
        let tree = Tree::from_config(&config);
        assert_eq!(
            tree.lookup("meta-data/instance-id"),
            Lookup::Leaf(Node::Static("i-override".into()))
        );
        assert_eq!(listing(&tree, "meta-data/spot/"), "instance-action");
        assert_eq!(tree.lookup("meta-data/placement/region"), Lookup::NotFound);
        assert_eq!(tree.lookup("meta-data/iam/"), Lookup::NotFound);
        let document: Value = serde_json::from_str(&tree.identity_document()).unwrap();
        assert_eq!(document["instanceId"], "i-override");
        assert_eq!(document["region"], Value::Null);
    }

    #[test]
    fn a_listing_override_is_served_verbatim_until_removed() {
        let mut tree = Tree::from_config(&Config::default());
        tree.set_listing("meta-data/placement", "a\r\n\n../\n/\n".into());
        assert_eq!(listing(&tree, "meta-data/placement/"), "a\r\n\n../\n/\n");
        assert_eq!(listing(&tree, "meta-data/placement"), "a\r\n\n../\n/\n");
        // The leaves are still there.
        assert!(matches!(
            tree.lookup("meta-data/placement/region"),
            Lookup::Leaf(_)
        ));
        // A directory that has no entries exists once it has a listing.
        tree.set_listing("meta-data/odd", "x".into());
        assert_eq!(listing(&tree, "meta-data/odd/"), "x");
        tree.remove("meta-data/odd");
        assert_eq!(tree.lookup("meta-data/odd/"), Lookup::NotFound);
    }
}
