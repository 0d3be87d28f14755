//! Which component serves a path: exact routes first, then the longest wildcard prefix.
//! Paths and routes are compared in normal form ([`NormalPath`]), so `/api/%76%31/x` is
//! served by `/api/v1/...` and `/api/v1/../x` is not.
//!
//! std only: the router fuzz target (`fuzz/fuzz_targets/router.rs`) compiles this file
//! (and `request_path.rs`) on its own, without wasmtime.

use std::collections::HashMap;

use crate::request_path::NormalPath;

/// A route as the host understands it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    /// Exactly this path.
    Exact(String),
    /// This prefix and everything below it; `""` matches every path.
    Prefix(String),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Exact(path) => f.write_str(path),
            Route::Prefix(prefix) => write!(f, "{prefix}/..."),
        }
    }
}

/// The result of routing a path: the route borrows from the table (it outlives the
/// request's path), the path info from the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'t, 'p> {
    /// Index of the component (as given to [`RouteTable::new`]).
    pub component: usize,
    /// The route as written, e.g. `/api/...`.
    pub route: &'t str,
    /// The part of the path below a wildcard prefix (`""` or starting with `/`);
    /// `""` for an exact route.
    pub path_info: &'p str,
}

/// Routes compiled for lookup: a hash map of exact paths and prefixes longest first, each
/// in normal form.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    exact: HashMap<String, (usize, String)>,
    /// (prefix, component, route text), sorted by prefix length, longest first.
    prefixes: Vec<(String, usize, String)>,
}

/// What a route's path or prefix is compared with: its normal form (`/%7Ea` is `/~a`). A
/// route without one is kept as written: the catch-all prefix `""`, which covers every
/// path, and routes no normal path can match (`/%zz`, `/..`).
pub(crate) fn route_key(path: String) -> String {
    match NormalPath::new(&path).map(NormalPath::into_changed) {
        Ok(Some(normal)) => normal,
        Ok(None) | Err(_) => path,
    }
}

impl RouteTable {
    /// Compiles `routes`, each with the index of the component it leads to (the caller's
    /// numbering, which [`RouteTable::lookup`] returns).
    pub fn new(routes: impl IntoIterator<Item = (Route, usize)>) -> Self {
        let mut table = RouteTable::default();
        for (route, component) in routes {
            let text = route.to_string();
            match route {
                Route::Exact(path) => {
                    table.exact.insert(route_key(path), (component, text));
                }
                Route::Prefix(prefix) => table.prefixes.push((route_key(prefix), component, text)),
            }
        }
        table
            .prefixes
            .sort_by_key(|(prefix, ..)| std::cmp::Reverse(prefix.len()));
        table
    }

    /// The route serving `path`: its exact route if it has one, else the longest prefix
    /// that covers it (`/api/...` covers `/api` and `/api/x`, not `/apix`); `None` when
    /// no route does.
    pub fn lookup<'t, 'p>(&'t self, path: &'p NormalPath<'_>) -> Option<Match<'t, 'p>> {
        let path = path.as_str();
        if let Some((component, route)) = self.exact.get(path) {
            return Some(Match {
                component: *component,
                route,
                path_info: "",
            });
        }
        self.prefixes.iter().find_map(|(prefix, component, route)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            // `/api/...` covers `/api` and `/api/x`, not `/apix`.
            (rest.is_empty() || rest.starts_with('/')).then_some(Match {
                component: *component,
                route,
                path_info: rest,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::new([
            (Route::Prefix(String::new()), 0),
            (Route::Prefix("/api".into()), 1),
            (Route::Prefix("/api/v2".into()), 2),
            (Route::Exact("/api/health".into()), 3),
        ])
    }

    fn lookup(path: &str) -> Option<(usize, String, String)> {
        lookup_in(&table(), path)
    }

    fn lookup_in(table: &RouteTable, path: &str) -> Option<(usize, String, String)> {
        let path = NormalPath::new(path).expect("a path with a normal form");
        table
            .lookup(&path)
            .map(|m| (m.component, m.route.to_string(), m.path_info.to_string()))
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        assert_eq!(
            lookup("/api/health"),
            Some((3, "/api/health".into(), String::new()))
        );
        assert_eq!(
            lookup("/api/health/x"),
            Some((1, "/api/...".into(), "/health/x".into()))
        );
        assert_eq!(
            lookup("/api/v2/users"),
            Some((2, "/api/v2/...".into(), "/users".into()))
        );
        assert_eq!(
            lookup("/api/v2"),
            Some((2, "/api/v2/...".into(), String::new()))
        );
        assert_eq!(lookup("/api"), Some((1, "/api/...".into(), String::new())));
        assert_eq!(lookup("/apix"), Some((0, "/...".into(), "/apix".into())));
        assert_eq!(lookup("/"), Some((0, "/...".into(), "/".into())));
    }

    #[test]
    fn no_match_without_a_catch_all() {
        let table = RouteTable::new([
            (Route::Exact("/a".into()), 0),
            (Route::Prefix("/b".into()), 1),
        ]);
        assert!(lookup_in(&table, "/c").is_none());
        assert!(lookup_in(&table, "/a/b").is_none());
        assert!(lookup_in(&table, "/bb").is_none());
        assert_eq!(lookup_in(&table, "/b/c").map(|m| m.0), Some(1));
    }

    #[test]
    fn paths_are_routed_in_normal_form() {
        let table = RouteTable::new([
            (Route::Prefix("/api/v1".into()), 0),
            (Route::Exact("/admin".into()), 1),
            (Route::Prefix("/files".into()), 2),
        ]);
        // Encoded unreserved characters are the characters.
        assert_eq!(
            lookup_in(&table, "/api/%76%31/x"),
            Some((0, "/api/v1/...".into(), "/x".into()))
        );
        // `..` is resolved before routing: it cannot leave the route it seems to be under.
        assert_eq!(lookup_in(&table, "/api/v1/../x"), None);
        assert_eq!(
            lookup_in(&table, "/api/v1/../../admin"),
            Some((1, "/admin".into(), String::new()))
        );
        assert_eq!(
            lookup_in(&table, "/api/v1/./a/../b"),
            Some((0, "/api/v1/...".into(), "/b".into()))
        );
        // An encoded slash is data within one segment.
        assert_eq!(
            lookup_in(&table, "/files/a%2f..%2fb"),
            Some((2, "/files/...".into(), "/a%2F..%2Fb".into()))
        );
    }

    #[test]
    fn routes_are_compared_in_normal_form_too() {
        let table = RouteTable::new([
            (Route::Exact("/%7euser".into()), 0),
            (Route::Prefix("/caf%c3%a9".into()), 1),
        ]);
        assert_eq!(lookup_in(&table, "/~user").map(|m| m.0), Some(0));
        assert_eq!(lookup_in(&table, "/%7Euser").map(|m| m.0), Some(0));
        assert_eq!(lookup_in(&table, "/caf%C3%A9/x").map(|m| m.0), Some(1));
    }
}
