//! Bad fixture: a wasi:cli command (it has a `main`), a component of another world.

fn main() {
    println!("I am a command, not an HTTP handler");
}
