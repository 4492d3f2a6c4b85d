"""Solution to chapter 7, exercise 1: the seed's async_server.py, fixed, in Python (asyncio streams).
Graded by: npx socklab check concurrent 12345     Run: python3 workshop/solutions/07_concurrent_server.py [port]"""
import asyncio
import sys

MAX_LINE = 64 * 1024  # a client must not make us buffer without end


async def handle(reader, writer):
    writer.write(b'connected to server\n')  # written, and drained below: the seed never awaited its send
    await writer.drain()
    try:
        while True:
            line = await reader.readuntil(b'\n')  # a message is a line, however the reads fall (chapter 8)
            writer.write(b'got message\n')
            await writer.drain()  # waits for this client only: a slow reader stalls nobody else
            if line.strip() == b'quit':  # the whole line, not 'quit' in it
                break
    except asyncio.IncompleteReadError as end:  # FIN: answer what is owed (nothing: no line is pending), close
        del end
    except asyncio.LimitOverrunError:
        writer.write(b'line too long\n')
    except ConnectionError:
        pass
    writer.close()


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345
    server = await asyncio.start_server(handle, '127.0.0.1', port, limit=MAX_LINE, backlog=511, reuse_address=True)
    print('listening on 127.0.0.1:%d' % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
