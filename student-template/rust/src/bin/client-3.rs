//! Exercise: connecting to your computer, part 3.
//!
//! Connect to port 9876, receive the message "1", send the message "2", then
//! receive the message "3", and send the message "4".
//!
//! Run it by hand:  cargo run --bin client-3
//! Check it with:   sockgrade grade . --exercise client-3

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpStream;

const HOST: &str = "127.0.0.1"; // The server's host name or IP address
const PORT: u16 = 9876; // The port used by the server

fn main() -> std::io::Result<()> {
    // TODO: connect, then receive and send the four messages in order.
    println!("TODO: client-3 should connect to {HOST}:{PORT}");
    Ok(())
}
