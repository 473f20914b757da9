//! Exercise: listening for connections, part 4.
//!
//! Create a listening socket on port 1248 that listens for incoming
//! connections, and then echoes the messages sent to it except for the message
//! "exit". If it receives the message "exit" it prompts for exit to be sent one
//! more time, in which case it closes, otherwise it goes back to echoing as
//! normal.
//!
//! Run it by hand:  cargo run --bin server-4
//! Check it with:   sockgrade grade . --exercise server-4

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpListener;

const HOST: &str = "127.0.0.1"; // Standard loopback interface address (localhost)
const PORT: u16 = 1248; // Port to listen on (non-privileged ports are > 1023)

fn main() -> std::io::Result<()> {
    // TODO: accept one connection and echo, handling "exit" as described above.
    println!("TODO: server-4 should listen on {HOST}:{PORT}");
    Ok(())
}
