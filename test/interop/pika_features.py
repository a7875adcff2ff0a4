# The interop scenarios with pika's BlockingConnection: one JSON line per feature on stdout.
# Usage: pika_features.py URL TLS_URL CA_FILE
import time

import pika

from interop_common import pika_params as params, report, tls_url, unique, url


def get_one(ch, q, auto_ack):
    for _ in range(200):
        m = ch.basic_get(q, auto_ack=auto_ack)
        if m[0] is not None:
            return m
        time.sleep(0.01)
    raise Exception('no message in ' + q)


def connect():
    pika.BlockingConnection(params(url)).close()


def declare():
    c = pika.BlockingConnection(params(url)); ch = c.channel(); q = unique('declare')
    ch.queue_declare(q)
    assert ch.queue_declare(q).method.message_count == 0
    ch.queue_delete(q); c.close()


def publish_and_consume():
    c = pika.BlockingConnection(params(url)); ch = c.channel(); q = unique('consume')
    ch.queue_declare(q)
    ch.basic_publish('', q, b'hello', pika.BasicProperties(content_type='text/plain'))
    for method, props, body in ch.consume(q, auto_ack=True, inactivity_timeout=5):
        assert body == b'hello', body
        break
    ch.cancel(); ch.queue_delete(q); c.close()


def ack():
    c = pika.BlockingConnection(params(url)); ch = c.channel(); q = unique('ack')
    ch.queue_declare(q); ch.basic_publish('', q, b'to ack')
    method, _, _ = get_one(ch, q, False)
    ch.basic_ack(method.delivery_tag)
    assert ch.queue_declare(q).method.message_count == 0
    ch.queue_delete(q); c.close()


def reject_requeue():
    c = pika.BlockingConnection(params(url)); ch = c.channel(); q = unique('requeue')
    ch.queue_declare(q); ch.basic_publish('', q, b'again')
    method, _, _ = get_one(ch, q, False)
    assert not method.redelivered
    ch.basic_reject(method.delivery_tag, requeue=True)
    method, _, body = get_one(ch, q, True)
    assert method.redelivered and body == b'again'
    ch.queue_delete(q); c.close()


def confirms():
    c = pika.BlockingConnection(params(url)); ch = c.channel(); q = unique('confirm')
    ch.queue_declare(q); ch.confirm_delivery()
    ch.basic_publish('', q, b'confirmed', mandatory=True)
    assert ch.queue_declare(q).method.message_count == 1
    ch.queue_delete(q); c.close()


def rpc():
    c = pika.BlockingConnection(params(url)); server = c.channel(); client = c.channel(); q = unique('rpc')
    server.queue_declare(q)
    def on_request(ch, method, props, body):
        ch.basic_publish('', props.reply_to, b're: ' + body)
    server.basic_consume(q, on_request, auto_ack=True)
    replies = []
    client.basic_consume('amq.rabbitmq.reply-to', lambda ch, m, p, body: replies.append(body), auto_ack=True)
    client.basic_publish('', q, b'ping', pika.BasicProperties(reply_to='amq.rabbitmq.reply-to'))
    deadline = time.time() + 5
    while not replies and time.time() < deadline:
        c.process_data_events(time_limit=0.1)
    assert replies == [b're: ping'], replies
    server.queue_delete(q); c.close()


def heartbeats():
    c = pika.BlockingConnection(params(url, heartbeat=1))
    c.sleep(2.5)
    ch = c.channel(); q = unique('heartbeat'); ch.queue_declare(q); ch.queue_delete(q); c.close()


def tls():
    c = pika.BlockingConnection(params(tls_url)); ch = c.channel(); q = unique('tls')
    ch.queue_declare(q); ch.queue_delete(q); c.close()


report(pika.__version__, [connect, declare, publish_and_consume, ack, reject_requeue, confirms, rpc, heartbeats, tls])
