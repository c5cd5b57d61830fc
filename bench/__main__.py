"""``python -m bench``: the same as ``kvstore bench``."""

import sys

from .cli import main

sys.exit(main())
