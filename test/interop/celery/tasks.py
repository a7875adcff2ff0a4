# A Celery app whose broker is the one in AMQP_URL (kombu over py-amqp) and whose results come back
# over AMQP too (the rpc:// backend), as a Celery user on RabbitMQ would set it up.
import os

from celery import Celery

app = Celery('warren_interop', broker=os.environ['AMQP_URL'], backend='rpc://')
app.conf.update(broker_connection_retry_on_startup=True, task_acks_late=True, worker_prefetch_multiplier=1)


@app.task
def add(x, y):
    return x + y


@app.task(bind=True, max_retries=3)
def flaky(self, attempt=0):
    # fails twice, then succeeds: Celery's retry republishes the task through the broker
    if self.request.retries < 2:
        raise self.retry(countdown=0)
    return 'done after %d retries' % self.request.retries
