"""TCP client with client.py's wire behaviour (see README.md). Usage: seed_client.py PORT < lines"""
import socket
import sys

port = int(sys.argv[1])
s = socket.socket()
s.settimeout(5)
s.connect(('127.0.0.1', port))
s.send(b'ack')
print(s.recv(1500).decode(), flush=True)
for line in sys.stdin:
    message = line.rstrip('\n')
    s.send(message.encode())
    if message == 'quit':
        break
    print('got message from server :', s.recv(1500).decode(), flush=True)
s.close()
