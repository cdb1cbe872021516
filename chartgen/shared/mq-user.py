"""Create a service's own RabbitMQ user (or reset its password) and grant it a virtual host.

Shared by every OpenStack blueprint that talks to the message bus (configFiles.<key>.shared:
mq-user.py). Uses the RabbitMQ management HTTP API, so it needs only the Python standard library of
the service's own image (Python 2 in the oldest releases: no f-strings, urllib2 fallback).
Environment: MQ_API (http://host:15672), MQ_ADMIN_USER, MQ_ADMIN_PASSWORD, MQ_USER, MQ_PASSWORD;
optional MQ_VHOST (default "/"), MQ_WAIT_SECONDS (default 600). Idempotent: PUT creates or updates.
"""
import base64
import json
import os
import sys
import time

# Each line reaches the pod log when it is printed, not when the step ends: a step that waits must
# say so while it waits (a pipe is block-buffered by default).
try:
    sys.stdout.reconfigure(line_buffering=True)  # Python 3.7+
except AttributeError:
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", 0)  # Python 2: unbuffered

try:
    from urllib.error import HTTPError, URLError
    from urllib.parse import quote
    from urllib.request import Request, urlopen
except ImportError:  # Python 2 images (newton..pike)
    from urllib import quote
    from urllib2 import HTTPError, Request, URLError, urlopen

env = os.environ
api = env["MQ_API"].rstrip("/")
credentials = base64.b64encode(("%s:%s" % (env["MQ_ADMIN_USER"], env["MQ_ADMIN_PASSWORD"])).encode("utf-8")).decode("ascii")


def call(method, path, body=None):
    request = Request(api + path, data=None if body is None else json.dumps(body).encode("utf-8"))
    request.get_method = lambda: method
    request.add_header("Authorization", "Basic " + credentials)
    request.add_header("Content-Type", "application/json")
    return urlopen(request, timeout=10).read()


def wait_for_api():
    deadline = time.time() + int(env.get("MQ_WAIT_SECONDS", "600"))
    while True:
        try:
            call("GET", "/api/overview")
            return
        except HTTPError as error:
            if error.code in (401, 403):  # waiting cannot help: the administrator is missing or refused
                sys.exit("the RabbitMQ management API at %s refused the administrator %s (HTTP %d): "
                         "is RabbitMQ's default user created (definitions loaded at boot skip it)?"
                         % (api, env["MQ_ADMIN_USER"], error.code))
            if time.time() > deadline:
                sys.exit("gave up waiting for the RabbitMQ management API at %s: %s" % (api, error))
            print("waiting for the RabbitMQ management API at %s: %s" % (api, error))
            time.sleep(5)
        except (URLError, IOError) as error:  # IOError: connection reset while a node starts
            if time.time() > deadline:
                sys.exit("gave up waiting for the RabbitMQ management API at %s: %s" % (api, error))
            print("waiting for the RabbitMQ management API at %s: %s" % (api, error))
            time.sleep(5)


def main():
    wait_for_api()
    user, vhost = env["MQ_USER"], env.get("MQ_VHOST", "/")
    call("PUT", "/api/vhosts/" + quote(vhost, safe=""), {})
    call("PUT", "/api/users/" + quote(user, safe=""), {"password": env["MQ_PASSWORD"], "tags": ""})
    call("PUT", "/api/permissions/%s/%s" % (quote(vhost, safe=""), quote(user, safe="")),
         {"configure": ".*", "write": ".*", "read": ".*"})
    print("RabbitMQ user %s is ready on virtual host %s" % (user, vhost))


main()
