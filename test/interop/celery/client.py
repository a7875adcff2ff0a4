# Sends tasks to the worker through the broker and prints what came back, one JSON line.
import json

from tasks import add, flaky

results = [add.delay(i, i).get(timeout=30) for i in range(5)]
retried = flaky.delay().get(timeout=30)
print(json.dumps({'adds': results, 'retried': retried}))
