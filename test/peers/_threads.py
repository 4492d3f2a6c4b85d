"""Shared by the threaded test peers: listen on 127.0.0.1:PORT (0 = any free port), print `listening <port>`
once ready, and run `handle(conn)` in a thread of its own for every client, for ever."""
import socket
import threading


def serve_forever(port, handle):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', port))
    listener.listen(128)
    print('listening', listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
