// The templates are embedded with `include_dir!`, which cargo cannot see into:
// rebuild whenever one of them changes.
fn main() {
    println!("cargo:rerun-if-changed=../templates");
}
