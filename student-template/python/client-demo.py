"""Demo: connecting a socket.

Connect to port 65432 on your own computer, send the message "Hello, world",
receive the reply ("Hello right back") and print it. The notebook shows the
code for this one: type it in yourself.

Check it with:  sockgrade grade . --exercise client-demo
"""
import socket

HOST = '127.0.0.1'  # The server's hostname or IP address
PORT = 65432        # The port used by the server

# TODO: connect to (HOST, PORT), send b"Hello, world", receive the reply and print it.
