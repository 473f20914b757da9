//! Demo: an echo server.
//!
//! Listen on port 34567, accept one connection, and send back every message it
//! sends you until it closes the connection; then exit. The notebook shows the
//! code for this one in Python: write it in Rust yourself.
//!
//! Run it by hand:  cargo run --bin server-demo
//! Check it with:   sockgrade grade . --exercise server-demo

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpListener;

const HOST: &str = "127.0.0.1"; // Standard loopback interface address (localhost)
const PORT: u16 = 34567; // Port to listen on (non-privileged ports are > 1023)

fn main() -> std::io::Result<()> {
    // TODO: bind a TcpListener to (HOST, PORT), accept one connection, and echo
    // until it closes (a read of 0 bytes).
    println!("TODO: server-demo should listen on {HOST}:{PORT}");
    Ok(())
}
