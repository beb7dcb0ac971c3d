"""`python -m segmenter segment ...`: the embedded runtime's command line (segmenter.cli)."""

import sys

from segmenter.cli import main

sys.exit(main())
