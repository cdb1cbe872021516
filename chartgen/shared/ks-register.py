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
