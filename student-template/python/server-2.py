"""Exercise: listening for connections, part 2.

Create a listening socket on port 8675 that listens for incoming
connections, asks the connection for a phrase, and then sends back how many
letters are in that phrase.

Check it with:  sockgrade grade . --exercise server-2
"""
import socket

HOST = '127.0.0.1'  # Standard loopback interface address (localhost)
PORT = 8675         # Port to listen on (non-privileged ports are > 1023)

# TODO: accept one connection, ask for a phrase, send back how many letters it has.
