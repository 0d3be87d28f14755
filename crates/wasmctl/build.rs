// The templates and the WIT are embedded with `include_dir!`, which cargo cannot see
// into: rebuild whenever one of them changes.
fn main() {
    println!("cargo:rerun-if-changed=../../templates");
    println!("cargo:rerun-if-changed=../../wit");
}
