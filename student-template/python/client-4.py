"""Exercise: connecting to your computer, part 4.

Connect to port 8765, receive a message, and then send back the message you
received twice with the string "doubled:" before it. So if you received
'hello', send back 'doubled:hellohello'.

Check it with:  sockgrade grade . --exercise client-4
"""
import socket

HOST = '127.0.0.1'  # The server's hostname or IP address
PORT = 8765         # The port used by the server

# TODO: connect, receive the word, and send it back doubled after "doubled:".
