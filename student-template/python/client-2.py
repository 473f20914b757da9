"""Exercise: connecting to your computer, part 2.

Connect to port 5678, send the message "1", receive the message "2", then
send the message "3", and receive the message "4".

Hint: it might help to include newlines at the end of the messages you send.

Check it with:  sockgrade grade . --exercise client-2
"""
import socket

HOST = '127.0.0.1'  # The server's hostname or IP address
PORT = 5678         # The port used by the server

# TODO: connect, then send and receive the four messages in order.
