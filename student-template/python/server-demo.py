"""Demo: an echo server.

Listen on port 34567, accept one connection, and send back every message it
sends you until it closes the connection; then exit. The notebook shows the
code for this one: type it in yourself.

Check it with:  sockgrade grade . --exercise server-demo
"""
import socket

HOST = '127.0.0.1'  # Standard loopback interface address (localhost)
PORT = 34567        # Port to listen on (non-privileged ports are > 1023)

# TODO: bind to (HOST, PORT), listen, accept one connection, echo until it closes.
