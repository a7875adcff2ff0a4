"""Connects to the broker at argv[1] with Debian's pika, opens a channel, sets QoS, closes, prints OK."""
import sys

import pika

params = pika.URLParameters(sys.argv[1])
connection = pika.BlockingConnection(params)
props = connection._impl.server_properties
channel = connection.channel()
channel.basic_qos(prefetch_count=10)
channel.close()
connection.close()
product = props.get("product", props.get(b"product"))
print("OK", product.decode() if isinstance(product, bytes) else product)
