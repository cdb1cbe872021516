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
