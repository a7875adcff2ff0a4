# The interop scenarios with pika's AsyncioConnection (its asynchronous adapter, callbacks turned into
# futures here): one JSON line per feature on stdout. Usage: pika_asyncio_features.py URL TLS_URL CA_FILE
import asyncio

import pika
from pika.adapters.asyncio_connection import AsyncioConnection

from interop_common import FEATURE_NAMES, outcome, pika_params as params, print_line, tls_url, unique, url


def callback():
    fut = asyncio.get_running_loop().create_future()
    return fut, lambda *args: fut.done() or fut.set_result(args)


async def open_connection(u, heartbeat=None):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    AsyncioConnection(params(u, heartbeat), on_open_callback=lambda c: fut.set_result(c),
                      on_open_error_callback=lambda c, e: fut.set_exception(Exception(repr(e))), custom_ioloop=loop)
    return await fut


async def close(c):
    fut, cb = callback()
    c.add_on_close_callback(cb)
    c.close()
    await fut


async def channel(c):
    fut, cb = callback()
    c.channel(on_open_callback=cb)
    return (await fut)[0]


async def declare(ch, q):
    fut, cb = callback()
    ch.queue_declare(q, callback=cb)
    return (await fut)[0].method.message_count


async def delete(ch, q):
    fut, cb = callback()
    ch.queue_delete(q, callback=cb)
    await fut


async def get_one(ch, q, auto_ack):
    for _ in range(200):
        fut, cb = callback()
        ch.basic_get(q, cb, auto_ack=auto_ack)
        done = asyncio.ensure_future(fut)
        await asyncio.sleep(0.01)
        if done.done():
            _, method, props, body = done.result()
            return method, body
        done.cancel()
    raise Exception('no message in ' + q)


async def connect():
    await close(await open_connection(url))


async def declare_feature():
    c = await open_connection(url); ch = await channel(c); q = unique('declare')
    await declare(ch, q)
    assert await declare(ch, q) == 0
    await delete(ch, q); await close(c)


async def publish_and_consume():
    c = await open_connection(url); ch = await channel(c); q = unique('consume')
    await declare(ch, q)
    fut, cb = callback()
    tag = ch.basic_consume(q, lambda ch_, m, p, body: cb(body), auto_ack=True)
    ch.basic_publish('', q, b'hello', pika.BasicProperties(content_type='text/plain'))
    (body,) = await asyncio.wait_for(fut, 5)
    assert body == b'hello'
    cancelled, cancel_cb = callback()
    ch.basic_cancel(tag, cancel_cb)
    await cancelled
    await delete(ch, q); await close(c)


async def ack():
    c = await open_connection(url); ch = await channel(c); q = unique('ack')
    await declare(ch, q); ch.basic_publish('', q, b'to ack')
    method, _ = await get_one(ch, q, False)
    ch.basic_ack(method.delivery_tag)
    assert await declare(ch, q) == 0
    await delete(ch, q); await close(c)


async def reject_requeue():
    c = await open_connection(url); ch = await channel(c); q = unique('requeue')
    await declare(ch, q); ch.basic_publish('', q, b'again')
    method, _ = await get_one(ch, q, False)
    assert not method.redelivered
    ch.basic_reject(method.delivery_tag, requeue=True)
    method, body = await get_one(ch, q, True)
    assert method.redelivered and body == b'again'
    await delete(ch, q); await close(c)


async def confirms():
    c = await open_connection(url); ch = await channel(c); q = unique('confirm')
    await declare(ch, q)
    selected, select_cb = callback()
    acked, ack_cb = callback()
    ch.confirm_delivery(ack_cb, callback=select_cb)
    await selected
    ch.basic_publish('', q, b'confirmed')
    (frame,) = await asyncio.wait_for(acked, 5)
    assert frame.method.NAME == 'Basic.Ack'
    assert await declare(ch, q) == 1
    await delete(ch, q); await close(c)


async def rpc():
    c = await open_connection(url); server = await channel(c); client = await channel(c); q = unique('rpc')
    await declare(server, q)
    server.basic_consume(q, lambda ch_, m, p, body: server.basic_publish('', p.reply_to, b're: ' + body), auto_ack=True)
    fut, cb = callback()
    client.basic_consume('amq.rabbitmq.reply-to', lambda ch_, m, p, body: cb(body), auto_ack=True)
    await asyncio.sleep(0.05)
    client.basic_publish('', q, b'ping', pika.BasicProperties(reply_to='amq.rabbitmq.reply-to'))
    (reply,) = await asyncio.wait_for(fut, 5)
    assert reply == b're: ping'
    await close(c)


async def heartbeats():
    c = await open_connection(url, heartbeat=1)
    await asyncio.sleep(2.5)
    ch = await channel(c); q = unique('heartbeat'); await declare(ch, q); await delete(ch, q); await close(c)


async def tls():
    c = await open_connection(tls_url); ch = await channel(c); q = unique('tls'); await declare(ch, q); await delete(ch, q); await close(c)


async def main():
    print_line({'version': pika.__version__})
    features = [connect, declare_feature, publish_and_consume, ack, reject_requeue, confirms, rpc, heartbeats, tls]
    for name, fn in zip(FEATURE_NAMES, features):
        try:
            await asyncio.wait_for(fn(), 20)
            print_line(outcome(name))
        except Exception as e:
            print_line(outcome(name, e))

asyncio.run(main())
