{{- /*
oaas-lib.shared.db-init.py: the script chartgen/shared/db-init.py, placed in ConfigMaps by blueprints that use it.
*/ -}}
{{- define "oaas-lib.shared.db-init.py" -}}
"""Create a service's database and user if missing, and (re)set the user's password.

Shared by every OpenStack blueprint (configFiles.<key>.shared: db-init.py). Runs with the Python and
PyMySQL of the service's own image (Python 2 in the oldest releases): no f-strings. Everything comes
from the environment: DB_HOST, DB_PORT, DB_ROOT_PASSWORD, DB_NAME, DB_USER, DB_PASSWORD and
optionally DB_WAIT_SECONDS. Idempotent.

When its pod has the step-flags folder (an upgrade Job that may be the service's first), it flags a
database that holds no table yet, so the full sync the upgrade Jobs replace runs first in that pod
(chartgen.model.NEW_DATABASE_FLAG).
"""
import os
import sys
import time

# Each line reaches the pod log when it is printed, not when the step ends: a step that waits must
# say so while it waits (a pipe is block-buffered by default).
try:
    sys.stdout.reconfigure(line_buffering=True)  # Python 3.7+
except AttributeError:
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", 0)  # Python 2: unbuffered

import pymysql

NEW_DATABASE_FLAG = "/oaas/step-flags/new-database"
env = os.environ
deadline = time.time() + int(env.get("DB_WAIT_SECONDS", "600"))
while True:
    try:
        connection = pymysql.connect(host=env["DB_HOST"], port=int(env["DB_PORT"]), user="root",
                                     password=env["DB_ROOT_PASSWORD"], connect_timeout=5)
        break
    except pymysql.err.OperationalError as error:
        if time.time() > deadline:
            sys.exit("gave up waiting for the database at %s:%s: %s" % (env["DB_HOST"], env["DB_PORT"], error))
        print("waiting for the database at %s:%s: %s" % (env["DB_HOST"], env["DB_PORT"], error))
        time.sleep(5)
name, user = env["DB_NAME"], env["DB_USER"]
with connection.cursor() as cursor:
    cursor.execute("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8" % name)
    for host in ("%", "localhost"):
        cursor.execute("GRANT ALL PRIVILEGES ON `%s`.* TO %%s@%%s IDENTIFIED BY %%s" % name,
                       (user, host, env["DB_PASSWORD"]))
    cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (name,))
    tables = cursor.fetchone()[0]
connection.commit()
print("database %s and user %s are ready (%d tables)" % (name, user, tables))
if tables == 0 and os.path.isdir(os.path.dirname(NEW_DATABASE_FLAG)):
    open(NEW_DATABASE_FLAG, "w").close()
    print("flagged database %s as new: its full sync runs before the upgrade Jobs" % name)
{{- end -}}

{{- /*
oaas-lib.shared.ks-register.py: the script chartgen/shared/ks-register.py, placed in ConfigMaps by blueprints that use it.
*/ -}}
{{- define "oaas-lib.shared.ks-register.py" -}}
"""Register an OpenStack service in Keystone: its user (member of the `service` project with the
given roles), the service and its endpoints. Idempotent: creates what is missing and updates what
differs (a changed password or URL), so it runs again on every upgrade.

Shared by every OpenStack blueprint (configFiles.<key>.shared: ks-register.py). Runs with the
Python and keystoneauth1 of the service's own image (Python 2 in the oldest releases): no f-strings.
Environment: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME (admin credentials);
SERVICE_NAME, SERVICE_TYPE, SERVICE_USER, SERVICE_PASSWORD; optional SERVICE_ROLES (default "admin"),
REGION (default RegionOne), ENDPOINT_PUBLIC, ENDPOINT_INTERNAL, ENDPOINT_ADMIN, KS_WAIT_SECONDS (the
wait for keystone, 600), KS_REQUEST_SECONDS (the bound of one request, 15).
"""
import os
import sys
import time

# Each line reaches the pod log when it is printed, not when the step ends: a step that waits must
# say so while it waits (a pipe is block-buffered by default).
try:
    sys.stdout.reconfigure(line_buffering=True)  # Python 3.7+
except AttributeError:
    sys.stdout = os.fdopen(sys.stdout.fileno(), "w", 0)  # Python 2: unbuffered

from keystoneauth1 import exceptions, session
from keystoneauth1.identity import v3

env = os.environ


def connect():
    auth = v3.Password(auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"], password=env["OS_PASSWORD"],
                       project_name=env.get("OS_PROJECT_NAME", "admin"), user_domain_id="default", project_domain_id="default")
    # Every request has a bound: without one, a request to a keystone pod that goes away in a roll,
    # or one queued behind WSGI workers still loading, waits for the kernel (minutes), and the
    # step then fails and waits out the kubelet's back-off as well.
    sess = session.Session(auth=auth, timeout=int(env.get("KS_REQUEST_SECONDS", "15")))
    deadline = time.time() + int(env.get("KS_WAIT_SECONDS", "600"))
    while True:
        try:
            sess.get_token()
            return sess
        # Any failure while keystone comes up: refused, timed out, 401 until its bootstrap has made
        # the admin, 5xx while it starts. A lasting one (a wrong address) ends at the deadline.
        except exceptions.ClientException as error:
            if time.time() > deadline:
                sys.exit("gave up waiting for keystone at %s: %s" % (env["OS_AUTH_URL"], error))
            print("waiting for keystone at %s: %s" % (env["OS_AUTH_URL"], error))
            time.sleep(5)


def find(sess, collection, **filters):
    response = sess.get("/" + collection, params=filters, endpoint_filter={"service_type": "identity", "interface": "internal"})
    return response.json()[collection]


def ensure(sess, collection, singular, filters, body):
    url = {"service_type": "identity", "interface": "internal"}
    found = find(sess, collection, **filters)
    if found:
        item = found[0]
        changed = dict((k, v) for k, v in body.items() if item.get(k) != v and k != "password")
        if "password" in body or changed:
            sess.patch("/%s/%s" % (collection, item["id"]), json={singular: body}, endpoint_filter=url)
            print("updated %s %s" % (singular, filters))
        return item
    item = sess.post("/" + collection, json={singular: body}, endpoint_filter=url).json()[singular]
    print("created %s %s" % (singular, filters))
    return item


def main():
    sess = connect()
    url = {"service_type": "identity", "interface": "internal"}
    project = ensure(sess, "projects", "project", {"name": "service", "domain_id": "default"},
                     {"name": "service", "domain_id": "default", "description": "OpenStack service users"})
    user = ensure(sess, "users", "user", {"name": env["SERVICE_USER"], "domain_id": "default"},
                  {"name": env["SERVICE_USER"], "domain_id": "default", "password": env["SERVICE_PASSWORD"], "enabled": True})
    for role_name in env.get("SERVICE_ROLES", "admin").split(","):
        roles = find(sess, "roles", name=role_name)
        role = roles[0] if roles else ensure(sess, "roles", "role", {"name": role_name}, {"name": role_name})
        sess.put("/projects/%s/users/%s/roles/%s" % (project["id"], user["id"], role["id"]), endpoint_filter=url)
    service = ensure(sess, "services", "service", {"type": env["SERVICE_TYPE"], "name": env["SERVICE_NAME"]},
                     {"type": env["SERVICE_TYPE"], "name": env["SERVICE_NAME"], "enabled": True})
    region = env.get("REGION", "RegionOne")
    for interface in ("public", "internal", "admin"):
        address = env.get("ENDPOINT_" + interface.upper())
        if address:
            ensure(sess, "endpoints", "endpoint", {"service_id": service["id"], "interface": interface, "region_id": region},
                   {"service_id": service["id"], "interface": interface, "region_id": region, "url": address, "enabled": True})
    print("%s (%s) is registered" % (env["SERVICE_NAME"], env["SERVICE_TYPE"]))


if __name__ == "__main__":
    main()
{{- end -}}

{{- /*
oaas-lib.shared.mq-user.py: the script chartgen/shared/mq-user.py, placed in ConfigMaps by blueprints that use it.
*/ -}}
{{- define "oaas-lib.shared.mq-user.py" -}}
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
{{- end -}}

{{- /*
oaas-lib.shared.secret-gen.py: the script chartgen/shared/secret-gen.py, placed in ConfigMaps by blueprints that use it.
*/ -}}
{{- define "oaas-lib.shared.secret-gen.py" -}}
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
{{- end -}}

