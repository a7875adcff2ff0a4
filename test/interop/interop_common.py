# What the interop scripts share: their arguments (URL, TLS URL, CA file), unique names, pika's
# connection parameters, and the report (a JSON line with the client's version, then one per feature).
import json
import ssl
import sys
import uuid

url, tls_url, ca = sys.argv[1:4]

FEATURE_NAMES = ['connect', 'declare', 'publish and consume', 'ack', 'reject and requeue', 'confirms',
                 'RPC with direct reply-to', 'heartbeats', 'TLS']


def unique(what):
    return 'interop-%s-%s' % (what, uuid.uuid4().hex[:6])


def pika_params(u, heartbeat=None):
    import pika  # only the pika scripts have it to hand

    p = pika.URLParameters(u)
    if heartbeat is not None:
        p.heartbeat = heartbeat
    if u.startswith('amqps:'):
        p.ssl_options = pika.SSLOptions(ssl.create_default_context(cafile=ca), 'localhost')
    return p


def print_line(obj):
    print(json.dumps(obj), flush=True)


def outcome(name, error=None):
    return {'feature': name, 'ok': True} if error is None else {'feature': name, 'ok': False, 'error': repr(error)}


def report(version, features):
    """Runs `features` (in FEATURE_NAMES' order) and prints what each did."""
    print_line({'version': version})
    for name, fn in zip(FEATURE_NAMES, features):
        try:
            fn()
            print_line(outcome(name))
        except Exception as e:
            print_line(outcome(name, e))
