//! The `skyfence` command-line tool.

fn main() {
    println!("skyfence");
}
