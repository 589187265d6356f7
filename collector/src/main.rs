//! maidian-collector binary (placeholder until the ingest issue lands).
fn main() {
    println!("maidian-collector: not yet implemented");
}
