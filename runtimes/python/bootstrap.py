"""Entry point of the Nimbus Python runtime interface client.

Run as:  python3 -s /var/runtime/python/bootstrap.py

The client itself is _nimbus_bootstrap.py beside this file, imported rather
than run: Python never caches the compiled form of the script it is started
with, but an imported module's comes from __pycache__. /var/runtime is
read-only inside the sandbox, so the server compiles the client there once per
interpreter when it resolves it (RuntimeCatalog's probe); without that file the
import compiles the source, as running it would.
"""

import _nimbus_bootstrap

_nimbus_bootstrap.main()
