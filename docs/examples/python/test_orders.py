import pika


def test_publish_and_get(amqp_url):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.queue_declare("orders")
    channel.basic_publish("", "orders", b"order 1")
    method, properties, body = channel.basic_get("orders", auto_ack=True)
    assert body == b"order 1"
    connection.close()
