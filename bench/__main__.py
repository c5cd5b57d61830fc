"""``python -m bench``: the same as ``kvstore bench``."""

import sys

from bench.cli import main

sys.exit(main())
