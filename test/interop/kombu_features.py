# The interop scenarios with python3-kombu on its own (Celery's messaging library, over py-amqp), with
# kombu's own API: Connection, Queue, Producer, Consumer. One JSON line per feature.
# Usage: kombu_features.py URL TLS_URL CA_FILE
import socket
import ssl
import time

import kombu
from kombu import Connection, Consumer, Producer, Queue

from interop_common import ca, report, tls_url, unique, url


def connection(u, **options):
    if u.startswith('amqps:'):
        options['ssl'] = {'ca_certs': ca, 'cert_reqs': ssl.CERT_REQUIRED, 'server_hostname': 'localhost'}
    c = Connection(u, **options)
    c.connect()
    return c


def queue(c, what):
    q = Queue(unique(what), channel=c.default_channel, auto_delete=False)
    q.declare()
    return q


def ready(q):
    return q.queue_declare(passive=True).message_count


def drain(c, until, seconds=5):
    deadline = time.time() + seconds
    while not until() and time.time() < deadline:
        try:
            c.drain_events(timeout=0.5)
        except socket.timeout:
            pass
    assert until(), 'nothing arrived in %ss' % seconds


def received(c, q, no_ack):
    """The first message a kombu Consumer gets from q."""
    got = []
    with Consumer(c.default_channel, queues=[q], callbacks=[lambda body, m: got.append(m)], no_ack=no_ack, accept=['json']):
        drain(c, lambda: got)
    return got[0]


def connect():
    connection(url).release()


def declare():
    c = connection(url); q = queue(c, 'declare')
    assert ready(q) == 0
    q.delete(); c.release()


def publish_and_consume():
    c = connection(url); q = queue(c, 'consume')
    Producer(c.default_channel).publish({'hello': 'kombu'}, routing_key=q.name, serializer='json')
    m = received(c, q, True)
    assert m.payload == {'hello': 'kombu'}, m.payload
    assert m.content_type == 'application/json'
    q.delete(); c.release()


def ack():
    c = connection(url); q = queue(c, 'ack')
    Producer(c.default_channel).publish({'n': 1}, routing_key=q.name, serializer='json')
    received(c, q, False).ack()
    assert ready(q) == 0
    q.delete(); c.release()


def reject_requeue():
    c = connection(url); q = queue(c, 'requeue')
    Producer(c.default_channel).publish({'n': 2}, routing_key=q.name, serializer='json')
    first = received(c, q, False)
    assert not first.delivery_info['redelivered']
    first.requeue()
    again = received(c, q, False)
    assert again.delivery_info['redelivered'] and again.payload == {'n': 2}
    again.ack(); q.delete(); c.release()


def confirms():
    # kombu waits for each publish's confirm with confirm_publish
    c = connection(url, transport_options={'confirm_publish': True}); q = queue(c, 'confirm')
    Producer(c.default_channel).publish({'n': 3}, routing_key=q.name, serializer='json')
    assert ready(q) == 1
    q.delete(); c.release()


def rpc():
    c = connection(url); requests = queue(c, 'rpc')
    server, client = c.channel(), c.channel()
    answer = lambda body, m: Producer(server).publish({'re': body['ping']}, routing_key=m.properties['reply_to'], serializer='json')
    replies = []
    reply_to = Queue('amq.rabbitmq.reply-to', no_declare=True)
    with Consumer(server, queues=[requests], callbacks=[answer], no_ack=True, accept=['json']), \
            Consumer(client, queues=[reply_to], callbacks=[lambda body, m: replies.append(body)], no_ack=True, accept=['json']):
        Producer(client).publish({'ping': 'kombu'}, routing_key=requests.name, reply_to='amq.rabbitmq.reply-to', serializer='json')
        drain(c, lambda: replies)
    assert replies == [{'re': 'kombu'}], replies
    requests.delete(); c.release()


def heartbeats():
    c = connection(url, heartbeat=2)
    deadline = time.time() + 3
    while time.time() < deadline:
        c.heartbeat_check()
        try:
            c.drain_events(timeout=0.3)
        except socket.timeout:
            pass
    q = queue(c, 'heartbeat'); q.delete(); c.release()


def tls():
    c = connection(tls_url); q = queue(c, 'tls'); q.delete(); c.release()


report(kombu.__version__, [connect, declare, publish_and_consume, ack, reject_requeue, confirms, rpc, heartbeats, tls])
