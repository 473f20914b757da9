//! Exercise: listening for connections, part 3.
//!
//! Create a listening socket on port 3456 that listens for incoming
//! connections, asks it to send a first number, asks for a second number, and
//! then sends the sum of those numbers.
//!
//! Run it by hand:  cargo run --bin server-3
//! Check it with:   sockgrade grade . --exercise server-3

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpListener;

const HOST: &str = "127.0.0.1"; // Standard loopback interface address (localhost)
const PORT: u16 = 3456; // Port to listen on (non-privileged ports are > 1023)

fn main() -> std::io::Result<()> {
    // TODO: accept one connection, ask for two numbers, send back their sum.
    println!("TODO: server-3 should listen on {HOST}:{PORT}");
    Ok(())
}
