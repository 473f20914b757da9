"""Exercise: connecting to your computer, part 5.

Connect to a website of your choice and send them the string
`GET / HTTP/1.0\n\n`. You should get an HTTP response back: read all of it,
until the server closes the connection, and print it.

The website is given on the command line, so the grader can play it:
    python3 client-5.py example.com 80

Check it with:  sockgrade grade . --exercise client-5
"""
import socket
import sys

if len(sys.argv) != 3:
    sys.exit('usage: python3 client-5.py HOST PORT   (for example: example.com 80)')

HOST = sys.argv[1]       # The web server's hostname or IP address
PORT = int(sys.argv[2])  # Its port (80 for plain HTTP)

# TODO: connect, send the request, receive until the server closes, print the response.
