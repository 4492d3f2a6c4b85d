"""UDP client with udp_client.py's wire behaviour (see README.md). Usage: PORT [COUNT]"""
import socket
import sys

port = int(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('127.0.0.1', port))
s.settimeout(5)
for _ in range(count):
    s.send(b'get')
    data, addr = s.recvfrom(1500)
    print(f'got {data.decode()} from {addr}', flush=True)
s.close()
