//! Arbitrary route tables and request paths through wasmctl-host's `RouteTable::new` and
//! `lookup`.
//!
//! Input, one item per line: `= PATH` declares an exact route, `~ PREFIX` a wildcard
//! prefix (`PREFIX/...`), anything else is a path to look up. Properties of every lookup:
//! an exact route matches only its own path, with an empty `path_info`, and beats every
//! prefix; a prefix match's prefix followed by its `path_info` is the path, and
//! `path_info` is empty or starts with `/`; the prefix chosen is the longest that matches;
//! no match means no route covers the path.

#![no_main]

use libfuzzer_sys::fuzz_target;

// wasmctl-host's router, compiled from its source: the module depends on std only, and
// linking the whole host would pull wasmtime into every fuzz build. `wasmctl_host`
// re-exports exactly these types (`wasmctl_host::{Route, RouteTable}`).
#[path = "../../host/src/router.rs"]
#[allow(dead_code)]
mod router;

use router::{Route, RouteTable};

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
        check(&routes, &table, path);
    }
});

fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn check(routes: &[Route], table: &RouteTable, path: &str) {
    let exact = routes.iter().any(|r| *r == Route::Exact(path.to_string()));
    let longest = routes
        .iter()
        .filter_map(|r| match r {
            Route::Prefix(prefix) if covers(prefix, path) => Some(prefix.len()),
            _ => None,
        })
        .max();
    let Some(found) = table.lookup(path) else {
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
            assert_eq!(exact_path, path);
            assert_eq!(found.path_info, "");
        }
        Route::Prefix(prefix) => {
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
