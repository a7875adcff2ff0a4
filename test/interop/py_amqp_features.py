# The interop scenarios with python3-amqp (py-amqp, Celery's transport): one JSON line per feature.
# Usage: py_amqp_features.py URL TLS_URL CA_FILE
import ssl
import time
from urllib.parse import urlparse

import amqp

from interop_common import ca, report, tls_url, unique, url


def connection(u, heartbeat=0):
    p = urlparse(u)
    kwargs = dict(host='%s:%s' % (p.hostname, p.port), userid=p.username, password=p.password, virtual_host='/', heartbeat=heartbeat)
    if p.scheme == 'amqps':
        # py-amqp takes the ssl module's arguments (a context it would not use for verification)
        kwargs['ssl'] = {'ca_certs': ca, 'cert_reqs': ssl.CERT_REQUIRED, 'server_hostname': 'localhost'}
        kwargs['host'] = 'localhost:%s' % p.port
    c = amqp.Connection(**kwargs)
    c.connect()
    return c


def get_one(ch, q, no_ack):
    for _ in range(200):
        m = ch.basic_get(q, no_ack=no_ack)
        if m is not None:
            return m
        time.sleep(0.01)
    raise Exception('no message in ' + q)


def connect():
    connection(url).close()


def declare():
    c = connection(url); ch = c.channel(); q = unique('declare')
    ch.queue_declare(q, auto_delete=False)
    assert ch.queue_declare(q, auto_delete=False).message_count == 0
    ch.queue_delete(q); c.close()


def publish_and_consume():
    c = connection(url); ch = c.channel(); q = unique('consume')
    ch.queue_declare(q, auto_delete=False)
    got = []
    tag = ch.basic_consume(q, callback=lambda m: got.append(m.body), no_ack=True)
    ch.basic_publish(amqp.Message('hello', content_type='text/plain'), routing_key=q)
    c.drain_events(timeout=5)
    assert got == ['hello'] or got == [b'hello'], got
    # cancelled first: a queue deleted under a consumer cancels it (basic.cancel), which py-amqp raises
    ch.basic_cancel(tag); ch.queue_delete(q); c.close()


def ack():
    c = connection(url); ch = c.channel(); q = unique('ack')
    ch.queue_declare(q, auto_delete=False); ch.basic_publish(amqp.Message('to ack'), routing_key=q)
    m = get_one(ch, q, False)
    ch.basic_ack(m.delivery_tag)
    assert ch.queue_declare(q, auto_delete=False).message_count == 0
    ch.queue_delete(q); c.close()


def reject_requeue():
    c = connection(url); ch = c.channel(); q = unique('requeue')
    ch.queue_declare(q, auto_delete=False); ch.basic_publish(amqp.Message('again'), routing_key=q)
    m = get_one(ch, q, False)
    assert not m.delivery_info['redelivered']
    ch.basic_reject(m.delivery_tag, requeue=True)
    m = get_one(ch, q, True)
    assert m.delivery_info['redelivered']
    ch.queue_delete(q); c.close()


def confirms():
    c = connection(url); ch = c.channel(); q = unique('confirm')
    ch.queue_declare(q, auto_delete=False)
    ch.confirm_select()
    ch.basic_publish_confirm(amqp.Message('confirmed'), routing_key=q)
    assert ch.queue_declare(q, auto_delete=False).message_count == 1
    ch.queue_delete(q); c.close()


def rpc():
    c = connection(url); server = c.channel(); client = c.channel(); q = unique('rpc')
    server.queue_declare(q, auto_delete=False)
    server_tag = server.basic_consume(q, callback=lambda m: server.basic_publish(amqp.Message('re: ' + (m.body if isinstance(m.body, str) else m.body.decode())), routing_key=m.properties['reply_to']), no_ack=True)
    replies = []
    client.basic_consume('amq.rabbitmq.reply-to', callback=lambda m: replies.append(m.body), no_ack=True)
    client.basic_publish(amqp.Message('ping', reply_to='amq.rabbitmq.reply-to'), routing_key=q)
    deadline = time.time() + 5
    while not replies and time.time() < deadline:
        c.drain_events(timeout=1)
    assert replies in (['re: ping'], [b're: ping']), replies
    server.basic_cancel(server_tag); server.queue_delete(q); c.close()


def heartbeats():
    c = connection(url, heartbeat=2)
    deadline = time.time() + 3
    while time.time() < deadline:
        c.heartbeat_tick()
        try:
            c.drain_events(timeout=0.3)
        except Exception:
            pass
    ch = c.channel(); q = unique('heartbeat'); ch.queue_declare(q, auto_delete=False); ch.queue_delete(q); c.close()


def tls():
    c = connection(tls_url); ch = c.channel(); q = unique('tls')
    ch.queue_declare(q, auto_delete=False); ch.queue_delete(q); c.close()


report(amqp.__version__, [connect, declare, publish_and_consume, ack, reject_requeue, confirms, rpc, heartbeats, tls])
