//! Directory listings: what IMDS returns for a path ending in `/`.
//!
//! One entry per line; an entry ending in `/` is a directory. Empty lines
//! and a trailing newline are ignored and `\r\n` is tolerated; nothing else
//! is rejected: an odd line is kept as a leaf, exactly as written (entries
//! such as instance tag keys may contain spaces or `=`).
//!
//! The `public-keys/` listing has its own form, `INDEX=NAME`, read by
//! [`parse_public_keys`]: `0=my-key` is the directory `0/`.

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    name: String,
    is_dir: bool,
}

impl Entry {
    /// A directory entry named `name` (without the trailing `/`).
    pub fn dir(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            is_dir: true,
        }
    }

    /// A leaf entry named `name`.
    pub fn leaf(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            is_dir: false,
        }
    }

    /// The entry's name, without the trailing `/` of a directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the entry is a directory.
    pub fn is_dir(&self) -> bool {
        self.is_dir
    }

    /// What to append to the listing's path to fetch this entry: the name,
    /// plus `/` for a directory.
    #[cfg(any(test, feature = "__internals"))]
    pub fn path_segment(&self) -> String {
        if self.is_dir {
            format!("{}/", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// The lines of a listing: split on `\n`, a trailing `\r` dropped, empty
/// lines skipped.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
}

/// Parses a directory listing. Never fails: a line that is only `/` is kept
/// as a leaf named `/`.
pub fn parse(text: &str) -> Vec<Entry> {
    lines(text)
        .map(|line| match line.strip_suffix('/') {
            Some(name) if !name.is_empty() => Entry::dir(name),
            _ => Entry::leaf(line),
        })
        .collect()
}

/// One entry of the `meta-data/public-keys/` listing, `INDEX=NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    /// The index, used in paths: `public-keys/INDEX/openssh-key`.
    pub index: String,
    /// The key pair's name. For a line without `=`, the whole line (which is
    /// then the index as well).
    pub name: String,
}

impl PublicKey {
    /// What to append to `meta-data/public-keys/` to list the key's
    /// formats: `INDEX/`.
    #[cfg(any(test, feature = "__internals"))]
    pub fn path_segment(&self) -> String {
        format!("{}/", self.index)
    }
}

/// Parses the `meta-data/public-keys/` listing (`0=my-key` lines). Never
/// fails: a line without `=` is kept, as both index and name.
pub fn parse_public_keys(text: &str) -> Vec<PublicKey> {
    lines(text)
        .map(|line| {
            let (index, name) = line.split_once('=').unwrap_or((line, line));
            PublicKey {
                index: index.to_owned(),
                name: name.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_leaves() {
        let text = "ami-id\nblock-device-mapping/\nhostname\niam/\n";
        assert_eq!(
            parse(text),
            [
                Entry::leaf("ami-id"),
                Entry::dir("block-device-mapping"),
                Entry::leaf("hostname"),
                Entry::dir("iam"),
            ]
        );
        assert!(parse(text)[1].is_dir());
        assert_eq!(parse(text)[1].name(), "block-device-mapping");
        assert_eq!(parse(text)[1].path_segment(), "block-device-mapping/");
        assert_eq!(parse(text)[0].path_segment(), "ami-id");
    }

    #[test]
    fn crlf_empty_lines_and_no_trailing_newline() {
        assert_eq!(
            parse("a\r\n\r\nb/\r\n\n\nc"),
            [Entry::leaf("a"), Entry::dir("b"), Entry::leaf("c")]
        );
        assert_eq!(parse(""), []);
        assert_eq!(parse("\n"), []);
        assert_eq!(parse("\r\n"), []);
    }

    #[test]
    fn odd_lines_are_kept() {
        assert_eq!(
            parse("/\n a b \nk=v\n//\n\r\r\n"),
            [
                Entry::leaf("/"),
                Entry::leaf(" a b "),
                Entry::leaf("k=v"),
                Entry::dir("/"),
                Entry::leaf("\r"),
            ]
        );
    }

    #[test]
    fn public_keys() {
        assert_eq!(
            parse_public_keys("0=my-key\r\n1=a=b\nodd\n\n"),
            [
                PublicKey {
                    index: "0".into(),
                    name: "my-key".into()
                },
                PublicKey {
                    index: "1".into(),
                    name: "a=b".into()
                },
                PublicKey {
                    index: "odd".into(),
                    name: "odd".into()
                },
            ]
        );
        assert_eq!(parse_public_keys("0=k")[0].path_segment(), "0/");
        assert_eq!(parse_public_keys(""), []);
    }
}
