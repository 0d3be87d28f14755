//! Arbitrary bytes as a `.wasm` file: header sniffing (`kind`), validation against the
//! served world (wasmparser, then WIT world decoding), and componentizing core modules.
//!
//! Properties: nothing panics; every error names the file; `validate` accepts only what
//! `kind` calls a component; whatever `componentize` produces is a component.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wasmctl::component::{self, WasmKind};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.wasm");
    let kind = component::kind(path, data);
    match component::validate(path, data) {
        Ok(valid) => {
            assert!(matches!(kind, Ok(WasmKind::Component)));
            assert!(!valid.exports.is_empty());
        }
        Err(error) => assert!(error.to_string().contains("fuzz.wasm"), "{error}"),
    }
    if let Ok(WasmKind::CoreModule) = kind {
        match component::componentize(path, data) {
            Ok(wrapped) => {
                assert_eq!(
                    component::kind(path, &wrapped).ok(),
                    Some(WasmKind::Component)
                );
                if let Err(error) = component::validate(path, &wrapped) {
                    assert!(error.to_string().contains("fuzz.wasm"), "{error}");
                }
            }
            Err(error) => assert!(error.to_string().contains("fuzz.wasm"), "{error}"),
        }
    }
});
