//! Bad fixture: a library without `crate-type = ["cdylib"]` and no binary, so cargo
//! produces an .rlib and no .wasm at all.

pub fn answer() -> u32 {
    42
}
