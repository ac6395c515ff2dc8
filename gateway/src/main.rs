mod client;
fn main() {}
