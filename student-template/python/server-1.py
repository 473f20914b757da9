"""Exercise: listening for connections, part 1.

Create a listening socket on port 7890 that listens for incoming
connections, and then sends those connections back their IP address and
host name.

Hint: accept() tells you the address; socket.gethostbyaddr() looks up its name.

Check it with:  sockgrade grade . --exercise server-1
"""
import socket

HOST = '127.0.0.1'  # Standard loopback interface address (localhost)
PORT = 7890         # Port to listen on (non-privileged ports are > 1023)

# TODO: accept one connection, send it its IP address and host name, then close.
