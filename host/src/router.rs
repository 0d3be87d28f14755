//! Which component serves a path: exact routes first, then the longest wildcard prefix.
//!
//! std only: the router fuzz target (`fuzz/fuzz_targets/router.rs`) compiles this file on
//! its own, without wasmtime.

use std::collections::HashMap;

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

/// Routes compiled for lookup: a hash map of exact paths and prefixes longest first.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    exact: HashMap<String, (usize, String)>,
    /// (prefix, component, route text), sorted by prefix length, longest first.
    prefixes: Vec<(String, usize, String)>,
}

impl RouteTable {
    pub fn new(routes: impl IntoIterator<Item = (Route, usize)>) -> Self {
        let mut table = RouteTable::default();
        for (route, component) in routes {
            let text = route.to_string();
            match route {
                Route::Exact(path) => {
                    table.exact.insert(path, (component, text));
                }
                Route::Prefix(prefix) => table.prefixes.push((prefix, component, text)),
            }
        }
        table
            .prefixes
            .sort_by_key(|(prefix, ..)| std::cmp::Reverse(prefix.len()));
        table
    }

    pub fn lookup<'t, 'p>(&'t self, path: &'p str) -> Option<Match<'t, 'p>> {
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
        let table = table();
        table
            .lookup(path)
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
        assert!(table.lookup("/c").is_none());
        assert!(table.lookup("/a/b").is_none());
        assert!(table.lookup("/bb").is_none());
        assert_eq!(table.lookup("/b/c").map(|m| m.component), Some(1));
    }
}
