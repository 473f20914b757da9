"""Exercise: connecting to your computer, part 1.

Connect to port 5555 locally, send the message "How do you do?" and receive
back and print the message "I'm good, what about you?"

Check it with:  sockgrade grade . --exercise client-1
"""
import socket

HOST = '127.0.0.1'  # The server's hostname or IP address
PORT = 5555         # The port used by the server

# TODO: connect, send the question, receive the answer and print it.
