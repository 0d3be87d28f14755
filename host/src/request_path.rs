//! The one form request paths are routed in, as a reverse proxy would put them: two
//! spellings of the same resource route alike, and no spelling routes past its route.
//!
//! [`NormalPath::new`], in this order (RFC 3986 §6.2.2):
//! 1. the path must start with `/` (origin-form or absolute-form; not `*` nor an
//!    authority);
//! 2. every `%XX` must be two hex digits; escapes of unreserved characters (letters,
//!    digits, `-`, `.`, `_`, `~`) are decoded, the others kept with upper-case hex
//!    (`%2f` → `%2F`): an encoded `/` stays data, never a separator;
//! 3. `.` and `..` segments are resolved (`/a/./b/../c` → `/a/c`, `/a/..` → `/`), after
//!    decoding, so `%2E%2E` is a `..` too; a `..` that climbs above `/` is refused.
//!
//! Nothing else changes: empty segments (`//`), a trailing `/` and every other byte stay.
//!
//! std only: the router fuzz target (`fuzz/fuzz_targets/router.rs`) compiles this file on
//! its own, without wasmtime.

use std::borrow::Cow;

/// A request path in normal form: starts with `/`, holds only well-formed `%XX` escapes
/// (upper-case hex, none of an unreserved character) and no `.` or `..` segment.
/// Normalizing it again changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath<'a>(Cow<'a, str>);

/// Why a request path has no normal form; the client's fault (400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The target is not a path: `*`, an authority (`host:port`) or empty.
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A `..` segment above `/`.
    AboveRoot,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the request target is not a path starting with `/`",
            PathError::BadEscape => "the path has a `%` that is not followed by two hex digits",
            PathError::AboveRoot => "the path climbs above `/` with `..`",
        })
    }
}

impl std::error::Error for PathError {}

impl<'a> NormalPath<'a> {
    /// The normal form of `path` (borrowed when `path` is already normal, the common case).
    pub fn new(path: &'a str) -> Result<NormalPath<'a>, PathError> {
        if !path.starts_with('/') {
            return Err(PathError::NotAbsolute);
        }
        let decoded = if path.contains('%') {
            // Escapes already in normal form (`%2F`) leave the path as it is.
            let decoded = decode_unreserved(path)?;
            if decoded == path {
                Cow::Borrowed(path)
            } else {
                Cow::Owned(decoded)
            }
        } else {
            Cow::Borrowed(path)
        };
        if !decoded.split('/').any(is_dot_segment) {
            return Ok(NormalPath(decoded));
        }
        Ok(NormalPath(Cow::Owned(remove_dot_segments(&decoded)?)))
    }

    /// The path in normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normal form as an owned string when it differs from the path it was made from.
    pub fn into_changed(self) -> Option<String> {
        match self.0 {
            Cow::Borrowed(_) => None,
            Cow::Owned(changed) => Some(changed),
        }
    }
}

fn is_dot_segment(segment: &str) -> bool {
    segment == "." || segment == ".."
}

/// RFC 3986 §2.3.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Decodes the escapes of unreserved characters and upper-cases the hex of the others.
fn decode_unreserved(path: &str) -> Result<String, PathError> {
    let mut decoded = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(percent) = rest.find('%') {
        decoded.push_str(&rest[..percent]);
        let hex = rest
            .get(percent + 1..percent + 3)
            .filter(|hex| hex.bytes().all(|digit| digit.is_ascii_hexdigit()))
            .ok_or(PathError::BadEscape)?;
        let byte = u8::from_str_radix(hex, 16).expect("two hex digits are a byte");
        if is_unreserved(byte) {
            decoded.push(char::from(byte));
        } else {
            decoded.push('%');
            decoded.push_str(&hex.to_ascii_uppercase());
        }
        rest = &rest[percent + 3..];
    }
    decoded.push_str(rest);
    Ok(decoded)
}

/// RFC 3986 §5.2.4 on a path starting with `/`, except that a `..` above the root is an
/// error rather than dropped.
fn remove_dot_segments(path: &str) -> Result<String, PathError> {
    let segments: Vec<&str> = path[1..].split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for segment in &segments {
        match *segment {
            "." => {}
            ".." => {
                kept.pop().ok_or(PathError::AboveRoot)?;
            }
            name => kept.push(name),
        }
    }
    // `/a/.` and `/a/b/..` name the directory `/a/`: the slash stays.
    if segments.last().is_some_and(|last| is_dot_segment(last)) {
        kept.push("");
    }
    Ok(format!("/{}", kept.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str) -> Result<String, PathError> {
        NormalPath::new(path).map(|normal| normal.as_str().to_string())
    }

    #[test]
    fn a_normal_path_is_kept_as_it_is_and_borrowed() {
        for path in [
            "/",
            "/api/v1/x",
            "//a//b/",
            "/a%2Fb",
            "/caf%C3%A9",
            "/a;b/..;/c",
            "/.a/b.",
        ] {
            let normal = NormalPath::new(path).unwrap();
            assert_eq!(normal.as_str(), path);
            assert_eq!(normal.into_changed(), None, "{path}");
        }
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(normal("/api/%76%31/x").unwrap(), "/api/v1/x");
        assert_eq!(normal("/%7Euser/%41-%5f").unwrap(), "/~user/A-_");
        // An encoded slash is data, not a separator.
        assert_eq!(normal("/files/a%2fb").unwrap(), "/files/a%2Fb");
        assert_eq!(normal("/caf%c3%a9").unwrap(), "/caf%C3%A9");
        assert_eq!(
            normal("/%25%32%46").unwrap(),
            "/%252F",
            "decoded once, not twice"
        );
    }

    #[test]
    fn dot_segments_are_resolved() {
        assert_eq!(normal("/api/v1/../x").unwrap(), "/api/x");
        assert_eq!(normal("/a/./b/../c").unwrap(), "/a/c");
        assert_eq!(normal("/a/.").unwrap(), "/a/");
        assert_eq!(normal("/a/b/..").unwrap(), "/a/");
        assert_eq!(normal("/a/..").unwrap(), "/");
        assert_eq!(normal("/.").unwrap(), "/");
        assert_eq!(
            normal("/a//../b").unwrap(),
            "/a/b",
            "`..` removes the empty segment"
        );
        // Decoded first: `%2E` is a dot.
        assert_eq!(normal("/api/v1/%2e%2E/admin").unwrap(), "/api/admin");
        assert_eq!(normal("/a/.%2e/b").unwrap(), "/b");
    }

    #[test]
    fn what_has_no_normal_form_is_refused() {
        assert_eq!(normal("/.."), Err(PathError::AboveRoot));
        assert_eq!(normal("/a/../.."), Err(PathError::AboveRoot));
        assert_eq!(normal("/%2e%2e/etc/passwd"), Err(PathError::AboveRoot));
        for bad in ["/%", "/a%2", "/%zz", "/%+f", "/%-1", "/%é"] {
            assert_eq!(normal(bad), Err(PathError::BadEscape), "{bad}");
        }
        for not_a_path in ["", "*", "example.com:443"] {
            assert_eq!(
                normal(not_a_path),
                Err(PathError::NotAbsolute),
                "{not_a_path}"
            );
        }
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        for path in ["/api/%76%31/../x/%2f/.", "/a/b/c/../../%7e", "/%41%2F%2e/"] {
            let once = normal(path).unwrap();
            assert_eq!(normal(&once).unwrap(), once, "{path}");
        }
    }
}
