//! Bad fixture: a wasm32-wasip1 core module exporting a plain function and no
//! wit-bindgen component type information, so nothing says what it implements.

#[unsafe(no_mangle)]
pub extern "C" fn handle() -> u32 {
    42
}
