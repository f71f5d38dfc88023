//! Work in progress (see issue 7).
fn main() {}
