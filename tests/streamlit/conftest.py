"""App tests: the page's own modules are importable as the app imports them (from its folder)."""

import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[2] / "streamlit"
APP_FILE = APP_DIR / "app.py"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))
