"""Exercise: listening for connections, part 3.

Create a listening socket on port 3456 that listens for incoming
connections, asks it to send a first number, asks for a second number, and
then sends the sum of those numbers.

Check it with:  sockgrade grade . --exercise server-3
"""
import socket

HOST = '127.0.0.1'  # Standard loopback interface address (localhost)
PORT = 3456         # Port to listen on (non-privileged ports are > 1023)

# TODO: accept one connection, ask for two numbers, send back their sum.
