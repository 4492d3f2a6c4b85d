"""Broken on purpose (see README.md): one select() loop with a blocking sendall, so a client that never reads
stalls every other client. Passes every other `socklab check concurrent` check."""
import select
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(64)
print('listening', listener.getsockname()[1], flush=True)
buffers = {}


def drop(sock, last=b''):
    if last:
        sock.sendall(last)
    del buffers[sock]
    sock.close()


def serve(sock):
    data = sock.recv(65536)
    if not data:
        return drop(sock)
    buffers[sock] += data
    *lines, buffers[sock] = buffers[sock].split(b'\n')
    for line in lines:
        if line.strip() == b'quit':
            return drop(sock, b'bye\n')
        sock.sendall(b'got message\n')  # blocks once this client's buffers are full: everyone waits
    if len(buffers[sock]) > 65536:
        drop(sock, b'line too long\n')


while True:
    ready, _, _ = select.select([listener, *buffers], [], [])
    for sock in ready:
        if sock is listener:
            conn, _ = listener.accept()
            conn.sendall(b'hello\n')
            buffers[conn] = b''
            continue
        try:
            serve(sock)
        except OSError:  # the client reset: forget it
            buffers.pop(sock, None)
            sock.close()
