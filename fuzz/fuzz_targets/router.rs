//! Arbitrary route tables and request paths through wasmctl-host's `NormalPath::new`,
//! `RouteTable::new` and `lookup`, as the host routes a request.
//!
//! Input, one item per line: `= PATH` declares an exact route, `~ PREFIX` a wildcard
//! prefix (`PREFIX/...`), anything else is a path to normalize and look up.
//!
//! Properties of every normal form: it starts with `/`, has no `.` or `..` segment, only
//! `%XX` escapes with upper-case hex that do not encode an unreserved character, and
//! normalizing it again gives it back unchanged; a path that already had that shape is
//! its own normal form; a path is refused as "not a path" exactly when it does not start
//! with `/`, and for a bad escape only when it has one.
//!
//! Properties of every lookup, routes and path in normal form: an exact route matches
//! only its own path, with an empty `path_info`, and beats every prefix; a prefix match's
//! prefix followed by its `path_info` is the path, and `path_info` is empty or starts with
//! `/`; the prefix chosen is the longest that matches; no match means no route covers the
//! path.

#![no_main]

use libfuzzer_sys::fuzz_target;

// wasmctl-host's router, compiled from its source: the module depends on std only, and
// linking the whole host would pull wasmtime into every fuzz build. `wasmctl_host`
// re-exports exactly these types (`wasmctl_host::{Route, RouteTable}`).
#[path = "../../host/src/router.rs"]
#[allow(dead_code)]
mod router;
#[path = "../../host/src/request_path.rs"]
#[allow(dead_code)]
mod request_path;

use request_path::{NormalPath, PathError};
use router::{Route, RouteTable, route_key};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut routes = Vec::new();
    let mut paths = Vec::new();
    for line in text.split('\n') {
        if let Some(path) = line.strip_prefix("= ") {
            routes.push(Route::Exact(path.to_string()));
        } else if let Some(prefix) = line.strip_prefix("~ ") {
            routes.push(Route::Prefix(prefix.to_string()));
        } else {
            paths.push(line);
        }
    }
    // The manifest refuses duplicate routes; the table keeps one of each, and which one
    // is not a property worth pinning here. Components are numbered by route.
    let table = RouteTable::new(routes.iter().cloned().zip(0..));
    for path in paths {
        if let Some(normal) = check_normal_form(path) {
            check(&routes, &table, &normal);
        }
    }
});

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Whether every `%` starts an escape of two hex digits; with `normal`, upper-case ones
/// of a reserved character.
fn escapes_are(path: &str, normal: bool) -> bool {
    let bytes = path.as_bytes();
    bytes.iter().enumerate().filter(|(_, byte)| **byte == b'%').all(|(at, _)| {
        let Some(hex) = path.get(at + 1..at + 3) else {
            return false;
        };
        let Ok(byte) = u8::from_str_radix(hex, 16) else {
            return false;
        };
        hex.bytes().all(|digit| digit.is_ascii_hexdigit())
            && (!normal || (hex == hex.to_ascii_uppercase() && !is_unreserved(byte)))
    })
}

fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| segment == "." || segment == "..")
}

/// Checks the normal form of `path` and returns it, if it has one.
fn check_normal_form(path: &str) -> Option<NormalPath<'_>> {
    let normal = match NormalPath::new(path) {
        Ok(normal) => normal,
        Err(error) => {
            assert_eq!(
                error == PathError::NotAbsolute,
                !path.starts_with('/'),
                "{error} for {path:?}"
            );
            if error == PathError::BadEscape {
                assert!(!escapes_are(path, false), "{error} for {path:?}");
            }
            return None;
        }
    };
    let text = normal.as_str();
    assert!(text.starts_with('/'), "{path:?} became {text:?}");
    assert!(!has_dot_segment(text), "{path:?} became {text:?}");
    assert!(escapes_are(text, true), "{path:?} became {text:?}");
    let again = NormalPath::new(text).expect("a normal form is normal");
    assert_eq!(again.as_str(), text, "normalizing {text:?} again changed it");
    assert_eq!(again.into_changed(), None, "normalizing {text:?} again copied it");
    if escapes_are(path, true) && !has_dot_segment(path) {
        assert_eq!(text, path, "{path:?} was already normal");
    }
    Some(normal)
}

fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn check(routes: &[Route], table: &RouteTable, normal: &NormalPath<'_>) {
    let path = normal.as_str();
    let exact = routes
        .iter()
        .any(|r| matches!(r, Route::Exact(exact) if route_key(exact.clone()) == path));
    let longest = routes
        .iter()
        .filter_map(|r| match r {
            Route::Prefix(prefix) => {
                let prefix = route_key(prefix.clone());
                covers(&prefix, path).then_some(prefix.len())
            }
            _ => None,
        })
        .max();
    let Some(found) = table.lookup(normal) else {
        assert!(!exact && longest.is_none(), "no match for {path:?}");
        return;
    };
    let route = &routes[found.component];
    assert_eq!(
        found.route,
        route.to_string(),
        "the route text is the route's"
    );
    match route {
        Route::Exact(exact_path) => {
            assert_eq!(route_key(exact_path.clone()), path);
            assert_eq!(found.path_info, "");
        }
        Route::Prefix(prefix) => {
            let prefix = route_key(prefix.clone());
            assert!(!exact, "a prefix beat the exact route {path:?}");
            assert_eq!(format!("{prefix}{}", found.path_info), path);
            assert!(found.path_info.is_empty() || found.path_info.starts_with('/'));
            assert_eq!(
                Some(prefix.len()),
                longest,
                "not the longest prefix for {path:?}"
            );
        }
    }
}
