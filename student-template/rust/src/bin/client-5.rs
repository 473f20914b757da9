//! Exercise: connecting to your computer, part 5.
//!
//! Connect to a website of your choice and send them the string
//! `GET / HTTP/1.0\n\n`. You should get an HTTP response back: read all of
//! it, until the server closes the connection, and print it.
//!
//! The website is given on the command line, so the grader can play it:
//!
//!     cargo run --bin client-5 -- example.com 80
//!
//! Check it with:   sockgrade grade . --exercise client-5

// You will need these; uncomment them when you start (a `use` that
// nothing uses yet is a compiler warning):
// use std::io::{Read, Write};
// use std::net::TcpStream;

use std::env;
use std::process;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = env::args().collect();
    let (host, port) = match args.as_slice() {
        // The web server's host name or IP address, and its port (80 for plain HTTP).
        [_, host, port] => match port.parse::<u16>() {
            Ok(port) => (host.as_str(), port),
            Err(_) => usage(),
        },
        _ => usage(),
    };

    // TODO: connect to (host, port), send the request, read until the server
    // closes the connection (read_to_end), and print the response.
    println!("TODO: client-5 should connect to {host}:{port}");
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: client-5 HOST PORT   (for example: example.com 80)");
    process::exit(2);
}
