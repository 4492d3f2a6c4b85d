"""Concurrent asyncio TCP server with async_server.py's wire behaviour (see README.md)."""
import asyncio
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345


async def handle(client, addr):
    loop = asyncio.get_running_loop()
    # The seed calls loop.sock_sendall(...) here without await: the greeting never leaves. Neither does ours.
    request = None
    while request != 'quit':
        data = await loop.sock_recv(client, 255)
        if not data:
            break
        request = data.decode('utf8')
        print(f'got from {addr} : {request}', flush=True)
        await loop.sock_sendall(client, b'got message')
    client.close()


async def serve():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', port))
    server.listen(8)
    server.setblocking(False)
    print('listening', server.getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    while True:
        client, addr = await loop.sock_accept(server)
        print('connected to client :', addr, flush=True)
        loop.create_task(handle(client, addr))


asyncio.run(serve())
