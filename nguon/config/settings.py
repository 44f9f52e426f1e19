"""Settings, read from NGUON_* environment variables through typed helpers."""

from __future__ import annotations

import secrets
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from nguon.lib import netguard
from nguon.lib.env import EnvError, env_bool, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent

try:
    DATA_DIR = env_path("NGUON_DATA_DIR", PROJECT_DIR / "var")
    DEBUG = env_bool("NGUON_DEBUG", False)
    ALLOWED_HOSTS = env_list("NGUON_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
    CSRF_TRUSTED_ORIGINS = env_list("NGUON_CSRF_TRUSTED_ORIGINS", [])
    DATABASE_URL = env_str("NGUON_DATABASE_URL", "")
    REDIS_URL = env_str("NGUON_REDIS_URL", "")
    # How device gateways learn of new push events: auto (PostgreSQL LISTEN/NOTIFY on PostgreSQL, else Redis
    # pub/sub when NGUON_REDIS_URL is set, else a 50 ms poll), or postgres, redis, poll.
    GATEWAY_WAKE = env_str("NGUON_GATEWAY_WAKE", "auto")
    SECURE_COOKIES = env_bool("NGUON_SECURE_COOKIES", False)
    LOGIN_FAILURE_LIMIT = env_int("NGUON_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
    LOCKOUT_MINUTES = env_int("NGUON_LOCKOUT_MINUTES", 15, minimum=1, maximum=24 * 60)
    DEFAULT_PROVINCE = env_str("NGUON_PROVINCE", "75")
    MAX_UPLOAD_MB = env_int("NGUON_MAX_UPLOAD_MB", 500, minimum=1, maximum=100_000)
    # Largest image accepted, in megapixels, checked from the header before decoding (a 40-megapixel RGBA image
    # decodes to 160 MB). Pillow's own guard starts near 89 and refuses only past 178.
    IMAGE_MAX_MEGAPIXELS = env_int("NGUON_IMAGE_MAX_MEGAPIXELS", 40, minimum=1, maximum=89)
    S3_BUCKET = env_str("NGUON_S3_BUCKET", "")
    TTS_ENGINE = env_str("NGUON_TTS_ENGINE", "espeak")
    TTS_VOICE = env_str("NGUON_TTS_VOICE", "")
    TTS_RATE = env_int("NGUON_TTS_RATE", 100, minimum=50, maximum=200)
    PIPER_MODEL = env_str("NGUON_PIPER_MODEL", "")
    TTS_HTTP_URL = env_str("NGUON_TTS_HTTP_URL", "https://api.fpt.ai/hmi/tts/v5")
    TTS_API_KEY = env_str("NGUON_TTS_API_KEY", "")
    LOUDNESS_TARGET = env_int("NGUON_LOUDNESS_TARGET", -16, minimum=-40, maximum=-5)
    TRUE_PEAK_MAX = env_int("NGUON_TRUE_PEAK_MAX", -1, minimum=-9, maximum=0)
    CHIME_INTRO = env_str("NGUON_CHIME_INTRO", "")
    CHIME_OUTRO = env_str("NGUON_CHIME_OUTRO", "")
    SPEECH_AUTO_RENDER = env_bool("NGUON_SPEECH_AUTO_RENDER", True)
    SIGNING_KEY_FILE = env_str("NGUON_SIGNING_KEY_FILE", "")
    PUBLIC_URL = env_str("NGUON_PUBLIC_URL", "http://127.0.0.1:8000")
    # Map tiles behind the alert area map ({z}/{x}/{y}; point it at the province's own tile server in production).
    # Empty: no map, the polygon and circle text fields alone. A Content-Security-Policy must allow its origin.
    MAP_TILE_URL = env_str("NGUON_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    MAP_TILE_ATTRIBUTION = env_str(
        "NGUON_MAP_TILE_ATTRIBUTION", '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    )
    S3_ENDPOINT_URL = env_str("NGUON_S3_ENDPOINT_URL", "")
    _SECRET_KEY_ENV = env_str("NGUON_SECRET_KEY", "")
    # Live broadcasts: the Icecast server devices listen to (scripts/icecast.sh runs one on port 8001; the
    # application has 8000). An empty source password means the one the script generated into the data directory.
    ICECAST_URL = env_str("NGUON_ICECAST_URL", "http://127.0.0.1:8001").rstrip("/")
    ICECAST_SOURCE_PASSWORD = env_str("NGUON_ICECAST_SOURCE_PASSWORD", "")
    # How long saving a relay item waits for its stream to answer (0: do not check).
    STREAM_CHECK_SECONDS = env_int("NGUON_STREAM_CHECK_SECONDS", 3, minimum=0, maximum=30)
    # Hosts and networks (host, host:port, CIDR) the stream check may reach besides public addresses: in-house
    # stream servers. Everything else internal is refused (nguon/lib/netguard.py).
    STREAM_ALLOW = env_list("NGUON_STREAM_ALLOW", [])
    # Emergency alerts: the attention tone before each reading (empty: a generated two-tone signal), its length,
    # and how many times loudspeakers read the message unless the alert says otherwise.
    ALERT_TONE = env_str("NGUON_ALERT_TONE", "")
    ALERT_TONE_SECONDS = env_int("NGUON_ALERT_TONE_SECONDS", 3, minimum=1, maximum=15)
    ALERT_REPEAT = env_int("NGUON_ALERT_REPEAT", 2, minimum=1, maximum=5)
    # Back-office pages chime again this often (seconds) while an alert awaiting approval is unread; 0: once.
    ALERT_CHIME_REPEAT = env_int("NGUON_ALERT_CHIME_REPEAT", 120, minimum=0, maximum=3600)
    # The CAP <sender> of alerts composed here.
    ALERT_SENDER = env_str("NGUON_ALERT_SENDER", "")
    # Outgoing e-mail (notifications, password reset, feedback answers). Without a host, mail is written to the
    # log (development); with one, it goes out by SMTP.
    SMTP_HOST = env_str("NGUON_SMTP_HOST", "")
    SMTP_PORT = env_int("NGUON_SMTP_PORT", 587, minimum=1, maximum=65535)
    SMTP_USER = env_str("NGUON_SMTP_USER", "")
    SMTP_PASSWORD = env_str("NGUON_SMTP_PASSWORD", "")
    SMTP_SECURITY = env_str("NGUON_SMTP_SECURITY", "starttls").lower()
    SMTP_TIMEOUT = env_int("NGUON_SMTP_TIMEOUT", 10, minimum=1, maximum=120)
    EMAIL_FROM = env_str("NGUON_EMAIL_FROM", "")
    # How long a password-reset link sent by e-mail stays usable.
    PASSWORD_RESET_MINUTES = env_int("NGUON_PASSWORD_RESET_MINUTES", 60, minimum=5, maximum=7 * 24 * 60)
    # Citizens' feedback: how long after the answer a citizen may reopen it (then it closes), how long contact
    # details are kept after closing (NĐ 13/2023), and the files a submission may carry.
    FEEDBACK_REOPEN_DAYS = env_int("NGUON_FEEDBACK_REOPEN_DAYS", 15, minimum=1, maximum=365)
    FEEDBACK_RETENTION_DAYS = env_int("NGUON_FEEDBACK_RETENTION_DAYS", 365, minimum=30, maximum=3650)
    # Days raw device report records (heartbeats, plays, logs, alert receipts) are kept; the figures live on in the
    # roll-ups. At least 35: a device may re-send records up to 30 days old, and deduplication needs the first copy.
    # On PostgreSQL whole monthly partitions are dropped, so rows stay up to a month longer.
    REPORT_RAW_RETENTION_DAYS = env_int("NGUON_REPORT_RAW_RETENTION_DAYS", 400, minimum=35, maximum=3650)
    FEEDBACK_MAX_FILES = env_int("NGUON_FEEDBACK_MAX_FILES", 4, minimum=0, maximum=10)
    FEEDBACK_MAX_FILE_MB = env_int("NGUON_FEEDBACK_MAX_FILE_MB", 20, minimum=1, maximum=200)
    # Submissions accepted per client address per hour on the public form and through partner keys.
    FEEDBACK_RATE_PER_HOUR = env_int("NGUON_FEEDBACK_RATE_PER_HOUR", 10, minimum=1, maximum=100000)
    # The Open311 GeoReport v2 jurisdiction_id partner apps may send (empty: the public host name without "www.").
    OPEN311_JURISDICTION = env_str("NGUON_OPEN311_JURISDICTION", "")
    # Exported reports (.docx/PDF in the NĐ 30/2020 layout): the issuing body (empty: the People's Committee of the
    # report's unit), the body above it, its abbreviation after "Số: …/BC-", the place before the date (empty: the
    # unit's name), the signer's title and name, and the recipients. Several lines or recipients: separate with ";".
    REPORT_ISSUER = env_str("NGUON_REPORT_ISSUER", "")
    REPORT_ISSUER_PARENT = env_str("NGUON_REPORT_ISSUER_PARENT", "")
    REPORT_ISSUER_ABBR = env_str("NGUON_REPORT_ISSUER_ABBR", "UBND")
    REPORT_PLACE = env_str("NGUON_REPORT_PLACE", "")
    REPORT_SIGNER_TITLE = env_str("NGUON_REPORT_SIGNER_TITLE", "")
    REPORT_SIGNER_NAME = env_str("NGUON_REPORT_SIGNER_NAME", "")
    REPORT_RECIPIENTS = env_str("NGUON_REPORT_RECIPIENTS", "")
    # The public form's challenge (django-simple-captcha): a small sum drawn as an image by this server, so it
    # works without JavaScript and without any outside service; 20 minutes to fill in the form on a phone.
    CAPTCHA_CHALLENGE_FUNCT = "captcha.helpers.math_challenge"
    CAPTCHA_MATH_CHALLENGE_OPERATOR = "x"
    CAPTCHA_TIMEOUT = 20
    CAPTCHA_IMAGE_SIZE = (150, 50)
    CAPTCHA_FONT_SIZE = 30
    # The link with the central source system (nguon/central, docs/central.md). The instance's own Ed25519 key
    # (empty: central_key.pem in the data directory); the unit code we speak for (default: the province).
    CENTRAL_KEY_FILE = env_str("NGUON_CENTRAL_KEY_FILE", "")
    CENTRAL_UNIT_CODE = env_str("NGUON_CENTRAL_UNIT_CODE", "")
    # The name peers see for this instance (default: the unit code).
    CENTRAL_NAME = env_str("NGUON_CENTRAL_NAME", "")
    # Let pairing and sync reach private and loopback addresses (two local instances, an in-house centre).
    CENTRAL_ALLOW_PRIVATE = env_bool("NGUON_CENTRAL_ALLOW_PRIVATE", False)
    # Seconds: one request's deadline, how long a pull waits for news, the longest pause between failed attempts,
    # and how far a signed request's timestamp may be from our clock.
    CENTRAL_TIMEOUT = env_int("NGUON_CENTRAL_TIMEOUT", 10, minimum=1, maximum=120)
    CENTRAL_LONG_POLL = env_int("NGUON_CENTRAL_LONG_POLL", 20, minimum=0, maximum=60)
    CENTRAL_BACKOFF_MAX = env_int("NGUON_CENTRAL_BACKOFF_MAX", 300, minimum=1, maximum=86400)
    CENTRAL_CLOCK_SKEW = env_int("NGUON_CENTRAL_CLOCK_SKEW", 300, minimum=10, maximum=86400)
    # Messages per push or pull.
    CENTRAL_BATCH = env_int("NGUON_CENTRAL_BATCH", 100, minimum=1, maximum=1000)
    # Behind nginx (deploy/nginx.conf): the gateway authorises a device's media request and answers with
    # `X-Accel-Redirect: <this prefix><storage name>`, and nginx sends the file from disk. Empty: the app sends it.
    MEDIA_ACCEL_REDIRECT = env_str("NGUON_MEDIA_ACCEL_REDIRECT", "")
    # The proxies whose X-Forwarded-For/-Proto `nguon serve` believes (addresses or networks); empty: none.
    TRUSTED_PROXIES = env_list("NGUON_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
except EnvError as exc:
    raise ImproperlyConfigured(str(exc)) from None

OPEN311_JURISDICTION = OPEN311_JURISDICTION or (urlsplit(PUBLIC_URL).hostname or "localhost").removeprefix("www.")

if SMTP_SECURITY not in ("starttls", "ssl", "none"):
    raise ImproperlyConfigured(f"NGUON_SMTP_SECURITY={SMTP_SECURITY!r} must be starttls, ssl or none")

try:
    netguard.parse_allow(STREAM_ALLOW)
except ValueError as exc:
    raise ImproperlyConfigured(f"NGUON_STREAM_ALLOW: {exc}") from None

if GATEWAY_WAKE not in ("auto", "postgres", "redis", "poll"):
    raise ImproperlyConfigured(f"NGUON_GATEWAY_WAKE={GATEWAY_WAKE!r} must be auto, postgres, redis or poll")
if GATEWAY_WAKE == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("NGUON_GATEWAY_WAKE=redis needs NGUON_REDIS_URL")

if MEDIA_ACCEL_REDIRECT and not (MEDIA_ACCEL_REDIRECT.startswith("/") and MEDIA_ACCEL_REDIRECT.endswith("/")):
    raise ImproperlyConfigured(
        f"NGUON_MEDIA_ACCEL_REDIRECT={MEDIA_ACCEL_REDIRECT!r} must be an nginx location that starts and ends with /"
    )

if not ICECAST_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"NGUON_ICECAST_URL={ICECAST_URL!r} must start with http:// or https://")

DATA_DIR.mkdir(parents=True, exist_ok=True)
(DATA_DIR / "static").mkdir(exist_ok=True)  # WhiteNoise warns when STATIC_ROOT is missing


def _secret_key() -> tuple[str, bool]:
    """Use NGUON_SECRET_KEY, else a key generated once into the data directory (never the repo)."""
    if _SECRET_KEY_ENV:
        if len(_SECRET_KEY_ENV) < 32:
            raise ImproperlyConfigured("NGUON_SECRET_KEY must be at least 32 characters long")
        return _SECRET_KEY_ENV, False
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip(), True


SECRET_KEY, SECRET_KEY_GENERATED = _secret_key()

INSTALLED_APPS = [
    "nguon.core.apps.NguonAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "huey.contrib.djhuey",
    "ninja",
    "nguon.core",
    "nguon.units",
    "nguon.accounts",
    "nguon.audit",
    "nguon.speech",
    "nguon.content",
    "nguon.broadcast",
    "nguon.alerts",
    "nguon.help",
    "nguon.notifications",
    "nguon.feedback",
    "nguon.reports",
    "nguon.central",
    "captcha",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (the policy is below; servers named in settings are added).
    "nguon.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "nguon.audit.middleware.AuditContextMiddleware",
    "nguon.accounts.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "nguon.core.middleware.DomainErrorMiddleware",
    # Axes last, as its documentation asks, so that it sees the final response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "nguon.config.urls"
ASGI_APPLICATION = "nguon.config.asgi.application"
WSGI_APPLICATION = "nguon.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "nguon.core.context_processors.shell",
                "nguon.notifications.context_processors.badge",
                "csp.context_processors.nonce",
            ],
        },
    }
]


def _database(url: str) -> dict:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "nguon.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at
                # BEGIN so that two writers queue instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"NGUON_DATABASE_URL is not a usable database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = _database("")["OPTIONS"]
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "nguon.accounts.backends.RoleBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Django's rules with messages of our own catalogue (Django's Vietnamese catalogue lacks them).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "nguon.accounts.validators.UserAttributeSimilarityValidator"},
    {"NAME": "nguon.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "nguon.accounts.validators.CommonPasswordValidator"},
    {"NAME": "nguon.accounts.validators.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = PASSWORD_RESET_MINUTES * 60

# The Vietnamese user guides shown at /help/ (Markdown, one file per role).
HELP_DIR = PROJECT_DIR / "docs" / "vi"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout after repeated failures, counted per username and address pair.
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

OTP_TOTP_ISSUER = env_str("NGUON_OTP_ISSUER", "Nguồn")
OTP_TOTP_THROTTLE_FACTOR = 1

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_AGE = 8 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A form refused by the CSRF check gets a page that says why in the reader's language (JSON under /api/).
CSRF_FAILURE_VIEW = "nguon.core.error_views.csrf_failure"

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, no inline script
# unless it carries the request's nonce ({{ CSP_NONCE }}). Style attributes stay allowed: a few templates place
# elements with computed sizes (the week grid, tree indentation). Map tiles (MAP_TILE_URL), an S3 media store
# and Icecast are added from their settings by nguon.core.middleware.ContentSecurityPolicyMiddleware.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True
FORMAT_MODULE_PATH = ["nguon.config.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The back office is small: serving straight from the app directories avoids a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# WhiteNoise serves static files through a sync iterator; under ASGI Django warns on each file. Harmless for the
# back office's few assets (a proxy serves them in production).
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "nguon.content.uploads.MaxSizeUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
if S3_BUCKET:
    # Any S3-compatible store (MinIO, Ceph, Viettel/FPT cloud); credentials come from AWS_* variables.
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": S3_BUCKET, "endpoint_url": S3_ENDPOINT_URL or None, "file_overwrite": False},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

if SMTP_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST, EMAIL_PORT = SMTP_HOST, SMTP_PORT
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = SMTP_USER, SMTP_PASSWORD
    EMAIL_USE_TLS, EMAIL_USE_SSL = SMTP_SECURITY == "starttls", SMTP_SECURITY == "ssl"
    EMAIL_TIMEOUT = SMTP_TIMEOUT
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = EMAIL_FROM or f"Nguồn <no-reply@{urlsplit(PUBLIC_URL).hostname or 'localhost'}>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL


def _huey() -> dict:
    common = {
        "name": "nguon",
        "immediate": False,
        "utc": True,
        "consumer": {"workers": 2, "worker_type": "thread", "periodic": True, "check_worker_health": True},
    }
    if REDIS_URL:
        # Blocking dequeue (BRPOP): an idle worker takes a task the moment it is queued, and does not poll at all.
        return {**common, "huey_class": "huey.RedisHuey", "url": REDIS_URL, "blocking": True}
    # SQLite cannot block: the consumer polls. Huey's default backs off while idle (up to 10 s), so a schedule change
    # saved after a quiet spell waited seconds longer than one saved while the worker was busy. A constant short
    # poll instead (backoff 1): the time from the click does not depend on how idle the worker was, and a poll of an
    # empty queue table costs some 0.1 ms, 20 a second with two worker threads.
    common["consumer"].update(initial_delay=0.1, backoff=1.0, max_delay=0.1)
    return {**common, "huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "tasks.sqlite3")}


HUEY = _huey()

# A cache every process shares: rate limits (django-ratelimit) count across server processes and machines. Redis
# when configured; otherwise a table in the database (created by the feedback app's migration).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "nguon_cache"}}
RATELIMIT_USE_CACHE = "default"
# The client address for rate limits: REMOTE_ADDR (behind a proxy, the proxy sets it; see docs/deploy.md).
RATELIMIT_IP_META_KEY = "REMOTE_ADDR"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"huey": {"level": "INFO"}, "django.request": {"level": "ERROR"}},
}
