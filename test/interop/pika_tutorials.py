"""RabbitMQ's six tutorials with Debian's pika against the broker at argv[1]; prints one line per pattern."""
import sys
import uuid

import pika

URL = sys.argv[1]
SUFFIX = uuid.uuid4().hex[:6]


def connect():
    return pika.BlockingConnection(pika.URLParameters(URL))


def drain(channel, queue, n, ack=True):
    got = []
    for method, _props, body in channel.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        got.append(body.decode())
        if ack:
            channel.basic_ack(method.delivery_tag)
        if len(got) == n:
            break
    channel.cancel()
    return got


def hello(ch):
    q = "hello-" + SUFFIX
    ch.queue_declare(q, auto_delete=True)
    ch.basic_publish("", q, b"Hello World!")
    assert drain(ch, q, 1) == ["Hello World!"]
    ch.queue_delete(q)


def work_queues(ch):
    q = "task-" + SUFFIX
    ch.queue_declare(q, durable=True)
    ch.basic_qos(prefetch_count=1)
    tasks = ["task %d" % i for i in range(5)]
    for t in tasks:
        ch.basic_publish("", q, t.encode(), pika.BasicProperties(delivery_mode=2))
    assert drain(ch, q, 5) == tasks
    ch.queue_delete(q)


def pubsub(ch):
    ex = "logs-" + SUFFIX
    ch.exchange_declare(ex, "fanout")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, ex)
    ch.basic_publish(ex, "", b"log line")
    assert drain(ch, q, 1) == ["log line"]
    ch.exchange_delete(ex)


def routing(ch):
    ex = "direct_logs-" + SUFFIX
    ch.exchange_declare(ex, "direct")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, ex, "error")
    for sev in ["info", "error", "warning"]:
        ch.basic_publish(ex, sev, sev.encode())
    assert drain(ch, q, 1) == ["error"]
    ch.exchange_delete(ex)


def topics(ch):
    ex = "topic_logs-" + SUFFIX
    ch.exchange_declare(ex, "topic")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, ex, "kern.*")
    ch.queue_bind(q, ex, "*.critical")
    for key in ["kern.critical", "kern.info", "app.critical", "app.info", "kern.x.y"]:
        ch.basic_publish(ex, key, key.encode())
    assert drain(ch, q, 3) == ["kern.critical", "kern.info", "app.critical"]
    ch.exchange_delete(ex)


def rpc(ch):
    rpc_queue = "rpc_queue-" + SUFFIX
    ch.queue_declare(rpc_queue)
    callback = ch.queue_declare("", exclusive=True).method.queue
    corr = str(uuid.uuid4())
    ch.basic_publish("", rpc_queue, b"10", pika.BasicProperties(reply_to=callback, correlation_id=corr))
    # the server side, on the same connection
    method, props, body = next(ch.consume(rpc_queue, inactivity_timeout=5))
    ch.basic_publish("", props.reply_to, str(55 if body == b"10" else -1).encode(), pika.BasicProperties(correlation_id=props.correlation_id))
    ch.basic_ack(method.delivery_tag)
    ch.cancel()
    method, props, body = next(ch.consume(callback, inactivity_timeout=5))
    assert props.correlation_id == corr and body == b"55"
    ch.cancel()
    ch.queue_delete(rpc_queue)


connection = connect()
channel = connection.channel()
for step in [hello, work_queues, pubsub, routing, topics, rpc]:
    step(channel)
    print("OK", step.__name__)
connection.close()
