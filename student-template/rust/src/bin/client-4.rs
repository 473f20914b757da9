//! Exercise: connecting to your computer, part 4.
//!
//! Connect to port 8765, receive a message, and then send back the message you
//! received twice with the string "doubled:" before it. So if you received
//! 'hello', send back 'doubled:hellohello'.
//!
//! Run it by hand:  cargo run --bin client-4
//! Check it with:   sockgrade grade . --exercise client-4

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpStream;

const HOST: &str = "127.0.0.1"; // The server's host name or IP address
const PORT: u16 = 8765; // The port used by the server

fn main() -> std::io::Result<()> {
    // TODO: connect, receive the word, and send it back doubled after "doubled:".
    println!("TODO: client-4 should connect to {HOST}:{PORT}");
    Ok(())
}
