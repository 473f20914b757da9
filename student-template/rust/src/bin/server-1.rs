//! Exercise: listening for connections, part 1.
//!
//! Create a listening socket on port 7890 that listens for incoming
//! connections, and then sends those connections back their IP address and
//! host name.
//!
//! Hint: accept() tells you the address. The standard library cannot look up
//! a host name; the name of 127.0.0.1 is "localhost".
//!
//! Run it by hand:  cargo run --bin server-1
//! Check it with:   sockgrade grade . --exercise server-1

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpListener;

const HOST: &str = "127.0.0.1"; // Standard loopback interface address (localhost)
const PORT: u16 = 7890; // Port to listen on (non-privileged ports are > 1023)

fn main() -> std::io::Result<()> {
    // TODO: accept one connection, send it its IP address and host name, then close.
    println!("TODO: server-1 should listen on {HOST}:{PORT}");
    Ok(())
}
