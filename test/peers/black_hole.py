"""Listens with backlog 0 and never accepts (see README.md). Prints its port, then sleeps until killed."""
import socket
import sys
import time

s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
print('listening', s.getsockname()[1], flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
