"""``python -m konsylium``."""

import sys

from konsylium.cli import main

sys.exit(main())
