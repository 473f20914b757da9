//! Exercise: listening for connections, part 2.
//!
//! Create a listening socket on port 8675 that listens for incoming
//! connections, asks the connection for a phrase, and then sends back how many
//! letters are in that phrase.
//!
//! Run it by hand:  cargo run --bin server-2
//! Check it with:   sockgrade grade . --exercise server-2

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpListener;

const HOST: &str = "127.0.0.1"; // Standard loopback interface address (localhost)
const PORT: u16 = 8675; // Port to listen on (non-privileged ports are > 1023)

fn main() -> std::io::Result<()> {
    // TODO: accept one connection, ask for a phrase, send back how many letters it has.
    println!("TODO: server-2 should listen on {HOST}:{PORT}");
    Ok(())
}
