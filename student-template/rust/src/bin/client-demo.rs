//! Demo: connecting a socket.
//!
//! Connect to port 65432 on your own computer, send the message "Hello, world",
//! receive the reply ("Hello right back") and print it. The notebook shows the
//! code for this one in Python: write it in Rust yourself.
//!
//! Run it by hand:  cargo run --bin client-demo
//! Check it with:   sockgrade grade . --exercise client-demo

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpStream;

const HOST: &str = "127.0.0.1"; // The server's host name or IP address
const PORT: u16 = 65432; // The port used by the server

fn main() -> std::io::Result<()> {
    // TODO: connect with TcpStream::connect((HOST, PORT)), send "Hello, world\n"
    // with write_all, read the reply and print it.
    println!("TODO: client-demo should connect to {HOST}:{PORT}");
    Ok(())
}
