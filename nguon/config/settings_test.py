"""Test settings: NGUON_TEST_DATABASE_URL selects PostgreSQL, else SQLite."""

import os
import tempfile

os.environ.setdefault("NGUON_DATA_DIR", tempfile.mkdtemp(prefix="nguon-test-"))
_TEST_DATABASE_URL = os.environ.get("NGUON_TEST_DATABASE_URL", "")
os.environ["NGUON_DATABASE_URL"] = _TEST_DATABASE_URL

from nguon.config.settings import *  # noqa: E402,F403
from nguon.config.settings import DATA_DIR, DATABASES, HUEY  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a live server thread, the task consumer and the test share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline unless a test starts a real consumer (see audit tests).
HUEY = {**HUEY, "immediate": True}
# Rendering speech needs espeak-ng and ffmpeg and takes about a second: only the speech tests ask for it.
SPEECH_AUTO_RENDER = False
# Tests never fetch map tiles (a browser test that wants the map routes its own fake tile URL).
MAP_TILE_URL = ""
