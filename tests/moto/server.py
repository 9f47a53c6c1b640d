"""moto server, answering as AWS does where moto is kinder: see truer/ for each difference.

    python tests/moto/server.py -H 127.0.0.1 -p PORT
"""

import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the work tree by truer/

import truer  # noqa: E402
from moto.server import main  # noqa: E402

if __name__ == "__main__":
    truer.install()
    main()
