"""UDP counter server with udp_server.py's wire behaviour (see README.md). Usage: PORT [DELAY_SECONDS]"""
import asyncio
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5


class Counter:
    def __init__(self):
        self.counter = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        print(f'got {data.decode(errors="replace")} from {addr}', flush=True)
        if data != b'get':
            return
        self.counter += 1
        asyncio.get_running_loop().create_task(self.reply(self.counter, addr))

    async def reply(self, value, addr):
        await asyncio.sleep(delay)
        self.transport.sendto(str(value).encode(), addr)

    def error_received(self, exc):
        pass

    def connection_lost(self, exc):
        pass


async def serve():
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Counter, local_addr=('127.0.0.1', port))
    print('listening', transport.get_extra_info('sockname')[1], flush=True)
    await asyncio.Event().wait()


asyncio.run(serve())
