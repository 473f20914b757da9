//! Exercise: connecting to your computer, part 2.
//!
//! Connect to port 5678, send the message "1", receive the message "2", then
//! send the message "3", and receive the message "4".
//!
//! Hint: it might help to include newlines at the end of the messages you send.
//!
//! Run it by hand:  cargo run --bin client-2
//! Check it with:   sockgrade grade . --exercise client-2

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpStream;

const HOST: &str = "127.0.0.1"; // The server's host name or IP address
const PORT: u16 = 5678; // The port used by the server

fn main() -> std::io::Result<()> {
    // TODO: connect, then send and receive the four messages in order.
    println!("TODO: client-2 should connect to {HOST}:{PORT}");
    Ok(())
}
