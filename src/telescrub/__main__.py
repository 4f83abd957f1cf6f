"""``python -m telescrub``: the command line (telescrub.app.cli)."""

import sys

from telescrub.app.cli import main

sys.exit(main())
