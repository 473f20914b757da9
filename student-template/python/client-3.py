"""Exercise: connecting to your computer, part 3.

Connect to port 9876, receive the message "1", send the message "2", then
receive the message "3", and send the message "4".

Check it with:  sockgrade grade . --exercise client-3
"""
import socket

HOST = '127.0.0.1'  # The server's hostname or IP address
PORT = 9876         # The port used by the server

# TODO: connect, then receive and send the four messages in order.
