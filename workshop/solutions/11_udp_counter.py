"""Solution to chapter 11, exercise 1: the UDP counter in Python, taking each value when the get arrives.
Graded by: npx socklab check udp-counter 12345     Run: python3 workshop/solutions/11_udp_counter.py [port]"""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 12345))
print('listening on udp 127.0.0.1:%d' % s.getsockname()[1], flush=True)
counter = 0
while True:
    data, sender = s.recvfrom(2048)
    if data.strip() != b'get':  # anything else: no value, no reply
        continue
    counter += 1
    s.sendto(b'%d\n' % counter, sender)  # to the sender's own address and port
