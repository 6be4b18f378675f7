"""Greengrass Run step: wait for the model server to be ready, then watch it. Exits 1 after three
failed checks in a row, which marks the component BROKEN so the deployment rolls back."""
import json
import sys
import time
import urllib.request

urls = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "health.json"))["urls"]
failures, ready = 0, False
while True:
    try:
        for url in urls:  # every server of the target (Triton, each llama-server)
            urllib.request.urlopen(url, timeout=3)
        failures, ready = 0, True
    except OSError:
        failures += 1
        if failures >= (3 if ready else 40):  # ten minutes to come up the first time
            sys.exit(1)
    time.sleep(15)
