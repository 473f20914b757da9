//! Exercise: connecting to your computer, part 1.
//!
//! Connect to port 5555 locally, send the message "How do you do?" and receive
//! back and print the message "I'm good, what about you?".
//!
//! Run it by hand:  cargo run --bin client-1
//! Check it with:   sockgrade grade . --exercise client-1

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpStream;

const HOST: &str = "127.0.0.1"; // The server's host name or IP address
const PORT: u16 = 5555; // The port used by the server

fn main() -> std::io::Result<()> {
    // TODO: connect, send the question, receive the answer and print it.
    println!("TODO: client-1 should connect to {HOST}:{PORT}");
    Ok(())
}
