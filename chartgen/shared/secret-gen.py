"""Create a service's generated Secret once, add the keys it lacks, never change a stored key.

Run by each subchart's secrets Job (oaas-lib.secrets.job) in global.testImage (kolla-toolbox:
Python 2 or 3, standard library only), as a ServiceAccount that may get and patch only this Secret
and its overrides Secret, and create Secrets. Rendering stays deterministic: no random value is ever
in the manifest, the cluster makes it once and keeps it across upgrades, re-applies and uninstall.
Environment: SECRET_NAME; SECRET_KEYS, space-separated key:format:length (format alphanumeric or
fernet); SECRET_LABELS, a JSON object; OVERRIDES_NAME, the Secret Helm renders from the deployer's
secrets.<key> values (absent when none is set): such a value replaces the stored one. Optional:
KUBERNETES_API (default: the in-cluster Service, by name), SERVICEACCOUNT_DIR (token and ca.crt, default
the mounted ServiceAccount), WAIT_SECONDS (default 300): how long API errors are retried.
A second run finds every key and sends nothing.
"""
import base64
import json
import os
import random
import ssl
import string
import sys
import time

try:
    sys.stdout.reconfigure(line_buffering=True)  # Python 3.7+: each line reaches the pod log at once
except AttributeError:
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", 0)  # Python 2: unbuffered

try:
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen
except ImportError:  # Python 2 images (newton..pike)
    from urllib2 import HTTPError, Request, URLError, urlopen

env = os.environ
account = env.get("SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
# By name, not KUBERNETES_SERVICE_HOST: Python 2's TLS does not match an IP address to the certificate.
api = env.get("KUBERNETES_API") or "https://kubernetes.default.svc:%s" % env.get("KUBERNETES_SERVICE_PORT", "443")
namespace = open(os.path.join(account, "namespace")).read().strip()
token = open(os.path.join(account, "token")).read().strip()
tls = ssl.create_default_context(cafile=os.path.join(account, "ca.crt"))
secrets = "%s/api/v1/namespaces/%s/secrets" % (api.rstrip("/"), namespace)
system_random = random.SystemRandom()


def call(method, url, body=None, content_type="application/json"):
    request = Request(url, data=None if body is None else json.dumps(body).encode("utf-8"))
    request.get_method = lambda: method
    request.add_header("Authorization", "Bearer " + token)
    request.add_header("Content-Type", content_type)
    return json.loads(urlopen(request, timeout=10, context=tls).read().decode("utf-8"))


def stored_data(name):
    """The data of Secret NAME (base64 values), or None when it does not exist."""
    try:
        return call("GET", "%s/%s" % (secrets, name)).get("data") or {}
    except HTTPError as error:
        if error.code == 404:
            return None
        raise


def generate(form, length):
    """A new random value, base64-encoded as Secret data holds it."""
    if form == "fernet":  # a Fernet key: 32 random bytes, URL-safe base64 (keystone, cryptography)
        value = base64.urlsafe_b64encode(os.urandom(32))
    else:
        alphabet = string.ascii_letters + string.digits
        value = "".join(system_random.choice(alphabet) for _ in range(int(length))).encode("ascii")
    return base64.b64encode(value).decode("ascii")


def converge(name, wanted, overrides):
    """Create the Secret, or patch in the keys it lacks and the deployer's overrides; say what."""
    stored = stored_data(name)
    if stored is None:
        data = dict((key, overrides.get(key) or generate(form, length)) for key, form, length in wanted)
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
                "metadata": {"name": name, "labels": json.loads(env.get("SECRET_LABELS", "{}"))}}
        call("POST", secrets, body)
        print("created Secret %s with %s" % (name, ", ".join(sorted(data))))
        return
    patch = {}
    for key, form, length in wanted:
        if overrides.get(key) and overrides[key] != stored.get(key):
            patch[key] = overrides[key]
        elif not stored.get(key):
            patch[key] = generate(form, length)
    if not patch:
        print("Secret %s has every key (%s): nothing to do" % (name, ", ".join(sorted(stored))))
        return
    call("PATCH", "%s/%s" % (secrets, name), {"data": patch}, "application/merge-patch+json")
    print("patched Secret %s: %s" % (name, ", ".join(sorted(patch))))


def main():
    name = env["SECRET_NAME"]
    wanted = [entry.split(":") for entry in env["SECRET_KEYS"].split()]
    deadline = time.time() + int(env.get("WAIT_SECONDS", "300"))
    while True:
        try:
            overrides = (stored_data(env["OVERRIDES_NAME"]) if env.get("OVERRIDES_NAME") else None) or {}
            converge(name, wanted, overrides)
            return
        except HTTPError as error:  # 403 while the Role is not bound yet, 409 when another run created it
            reason = "HTTP %d %s" % (error.code, error.read().decode("utf-8", "replace")[:300])
        except (URLError, IOError) as error:
            reason = str(error)
        if time.time() > deadline:
            sys.exit("gave up on Secret %s at %s: %s" % (name, api, reason))
        print("retrying Secret %s in 3 s: %s" % (name, reason))
        time.sleep(3)


main()
