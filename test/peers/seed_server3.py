"""Sequential TCP server with server3.py's wire behaviour (see README.md)."""
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(5)
print('listening', listener.getsockname()[1], flush=True)

conn, addr = listener.accept()
print('Got connection from', addr, flush=True)
conn.send(b'Thank you for connecting\n')
while True:
    data = conn.recv(1500)
    if not data:
        break
    text = data.decode()
    print('got message from client :', text, flush=True)
    conn.send(b'got your message')
    if 'quit' in text:
        print('quiting ...', flush=True)
        break
conn.close()
listener.close()
