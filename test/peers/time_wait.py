"""Leaves its port in TIME-WAIT, as the seed's servers do (see README.md): listens WITHOUT SO_REUSEADDR, accepts
one client, closes first (so this side is the one in TIME-WAIT), and exits. Usage: time_wait.py PORT"""
import socket
import sys

listener = socket.socket()
listener.bind(('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 0))
listener.listen(1)
print('listening', listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
conn.sendall(b'Thank you for connecting\n')
conn.close()
listener.close()
print('closed', flush=True)
