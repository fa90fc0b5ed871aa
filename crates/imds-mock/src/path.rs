//! Paths under `/latest/` as the config and the handle give them: the
//! checks and the normalisation that the config's validation and the tree
//! both need (here, so that neither imports the other for them), and the
//! request path as IMDS routes it.

use std::borrow::Cow;

/// A request path with runs of `/` collapsed to one, as IMDS routes it:
/// `//latest/meta-data/` is `/latest/meta-data/` (the JavaScript SDK's
/// `MetadataService` sends the former whenever its endpoint has no path).
pub(crate) fn route(path: &str) -> Cow<'_, str> {
    if !path.contains("//") {
        return Cow::Borrowed(path);
    }
    let mut routed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && routed.ends_with('/')) {
            routed.push(c);
        }
    }
    Cow::Owned(routed)
}

/// Whether `segment` can be one path segment: printable ASCII, no `/`, `?`,
/// `#` or `%`, and not `.` or `..`.
pub(crate) fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/?#%".contains(&b))
}

/// A config path as a tree key: a leading `/` and `latest/` and a trailing
/// `/` are dropped; `None` if any segment is not valid.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_prefix("latest/").unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').all(is_segment).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_config_paths() {
        assert_eq!(
            normalize("/latest/meta-data/x/").as_deref(),
            Some("meta-data/x")
        );
        assert_eq!(normalize("meta-data//x"), None);
        assert_eq!(normalize("meta-data/../x"), None);
        assert_eq!(normalize(""), None);
    }

    #[test]
    fn routes_collapse_repeated_slashes() {
        assert_eq!(route("/latest/meta-data/"), "/latest/meta-data/");
        assert_eq!(route("//latest//meta-data///x"), "/latest/meta-data/x");
        assert_eq!(route("//"), "/");
    }
}
