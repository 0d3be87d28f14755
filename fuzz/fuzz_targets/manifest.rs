//! `wasmctl.toml` text through parsing and validation, and every error through the
//! snippet renderer (arbitrary spans into arbitrary text).
//!
//! Properties: nothing panics; an error renders, names the file and is never empty; a
//! valid app only routes to components it defines, once per route, and its paths stay
//! inside the app directory.

#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use wasmctl::manifest::{self, ManifestError, Route};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/fuzz/app/wasmctl.toml");
    match manifest::parse(path, text.to_string()) {
        Ok(app) => check_app(&app),
        Err(ManifestError::Invalid(diagnostics)) => {
            assert!(!diagnostics.items.is_empty(), "an error with no diagnostic");
            let plain = diagnostics.to_string();
            assert!(plain.contains("wasmctl.toml"), "{plain}");
            // The coloured rendering takes other code paths in annotate-snippets.
            let _ = diagnostics.render(true);
        }
        Err(other) => panic!("parse only reports invalid manifests, got {other:?}"),
    }
});

fn check_app(app: &manifest::App) {
    assert_eq!(app.dir, Path::new("/fuzz/app"));
    let mut seen = std::collections::HashSet::new();
    for route in &app.routes {
        assert!(
            app.components.contains_key(&route.component),
            "route to undefined component {}",
            route.component
        );
        assert!(seen.insert(&route.route), "route {} twice", route.route);
        match &route.route {
            Route::Exact(path) => assert!(path.starts_with('/'), "{path}"),
            Route::Prefix(prefix) => assert!(prefix.is_empty() || prefix.starts_with('/')),
        }
    }
    for (id, component) in &app.components {
        assert_eq!(id, &component.id);
        assert_inside(&component.source);
        for mount in &component.files {
            assert_inside(&mount.source);
            assert!(mount.destination.starts_with('/'));
        }
        if let Some(build) = &component.build {
            assert_inside(&build.workdir);
        }
    }
}

/// A validated path is relative and has no `..`: it cannot leave the app directory.
fn assert_inside(path: &Path) {
    assert!(
        path.components()
            .all(|part| matches!(part, Component::Normal(_) | Component::CurDir)),
        "{} leaves the app directory",
        path.display()
    );
}
