"""Exercise: listening for connections, part 4.

Create a listening socket on port 1248 that listens for incoming
connections, and then echoes the messages sent to it except for the message
"exit". If it receives the message "exit" it prompts for exit to be sent one
more time, in which case it closes, otherwise it goes back to echoing as
normal.

Check it with:  sockgrade grade . --exercise server-4
"""
import socket

HOST = '127.0.0.1'  # Standard loopback interface address (localhost)
PORT = 1248         # Port to listen on (non-privileged ports are > 1023)

# TODO: accept one connection and echo, handling "exit" as described above.
