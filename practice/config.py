"""The plugin's settings: every key is namespaced PRACTICE_* and has a sensible default."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # Empty means "practice.sqlite3 in the instance folder".
    "PRACTICE_DATABASE_URL": "",
    "PRACTICE_DATABASE_ECHO": False,
    # Fernet keys for the health data encrypted in the database: the first encrypts, all decrypt
    # (put a new key first, run `practice rotate-keys`, then drop the old one). A list, or a string
    # of keys separated by commas; the environment variable of the same name works too. Keep them
    # out of the database and its backups. A mounted plugin refuses to start without them; the
    # standalone app makes one in its instance folder (instance/data_keys).
    "PRACTICE_DATA_KEYS": [],
    # How long a request waits for a database lock or connection before answering 503.
    "PRACTICE_DATABASE_WAIT_SECONDS": 15,
    "PRACTICE_NAME": "Harbour Counselling",
    "PRACTICE_URL_PREFIX": "",
    # Used to build absolute links outside a request (reminders sent from the command line).
    "PRACTICE_BASE_URL": "http://localhost:5000",
    # Shown when a visitor's own time zone is not known yet (JavaScript off, first visit).
    "PRACTICE_DEFAULT_TIMEZONE": "America/New_York",
    # How many days of open slots a therapist's page shows at a time.
    "PRACTICE_SLOT_PAGE_DAYS": 7,
    # A client's manage link works this long after it was emailed, and in any case until this
    # many days after the consultation ends (bookings can be up to a year ahead).
    "PRACTICE_MANAGE_LINK_MAX_AGE_DAYS": 90,
    "PRACTICE_MANAGE_LINK_DAYS_AFTER_END": 30,
    # Mail: with no SMTP host, messages are written as .eml files under PRACTICE_MAIL_DIR.
    "PRACTICE_MAIL_SENDER": "Harbour Counselling <hello@example.org>",
    "PRACTICE_SMTP_HOST": "",
    "PRACTICE_SMTP_PORT": 25,
    "PRACTICE_SMTP_USERNAME": "",
    "PRACTICE_SMTP_PASSWORD": "",
    "PRACTICE_SMTP_STARTTLS": False,
    "PRACTICE_SMTP_SSL": False,
    "PRACTICE_SMTP_TIMEOUT": 10,
    "PRACTICE_MAIL_DIR": "",
    # Try to deliver a booking's emails right after it commits; the outbox keeps them if that fails.
    "PRACTICE_MAIL_SEND_AFTER_COMMIT": False,
    "PRACTICE_MAIL_MAX_ATTEMPTS": 12,
    "PRACTICE_REMINDER_HOURS_BEFORE": 24,
    # Rate limits (Flask-Limiter syntax) and where their counters live.
    "PRACTICE_RATELIMIT_STORAGE_URI": "memory://",
    "PRACTICE_RATELIMIT_BOOKING": "10 per minute;60 per hour",
    # Sign-in: per address (every attempt), and per account (failed attempts, from anywhere).
    "PRACTICE_RATELIMIT_LOGIN": "10 per minute",
    "PRACTICE_RATELIMIT_LOGIN_ACCOUNT": "5 per minute;20 per hour",
    "PRACTICE_RATELIMIT_ENABLED": True,
    # Flask-Limiter's storage options and strategy for our limiter; the host's RATELIMIT_* keys
    # belong to the host's own limiter and never change ours.
    "PRACTICE_RATELIMIT_STORAGE_OPTIONS": {},
    "PRACTICE_RATELIMIT_STRATEGY": "fixed-window",
    # Development only (the demo on http://127.0.0.1): session cookies without Secure, no HSTS.
    # Debug mode and tests count as development too.
    "PRACTICE_INSECURE_COOKIES": False,
    # Strict-Transport-Security on our pages (outside development). Unset: yes standalone, no when
    # mounted, as it binds the host's whole origin to https for a year; True or False to choose.
    "PRACTICE_HSTS": None,
    # Where a client can get help now: shown on every public page's footer, the booking form and
    # with crisis help. `href` (optional) makes the number a tap-to-call link on a phone.
    "PRACTICE_URGENT_HELP": [
        {"label": "In an emergency, call", "contact": "911", "href": "tel:911"},
        {
            "label": "Suicide & Crisis Lifeline: call or text",
            "contact": "988",
            "href": "tel:988",
        },
        {
            "label": "National Domestic Violence Hotline",
            "contact": "1-800-799-7233, or text START to 88788",
            "href": "tel:+18007997233",
        },
    ],
    "PRACTICE_PRIVACY_CONTACT": "privacy@example.org",
    # Couples worksheets: the library folder (empty means forms/worksheets/), the paper a
    # practice usually prints on ("letter" or "a4"), and how many finished PDFs to keep in memory.
    "PRACTICE_WORKSHEETS_DIR": "",
    "PRACTICE_WORKSHEET_PAPER": "letter",
    "PRACTICE_WORKSHEET_CACHE_SIZE": 64,
    # The questionnaire every client answers before a consultation (forms/questionnaires/<id>/).
    "PRACTICE_INTAKE_FORM": "relationship-intake",
    "PRACTICE_INTAKE_LINK_MAX_AGE_DAYS": 120,
}


def apply_defaults(config: dict[str, Any]) -> None:
    """Fill in every PRACTICE_* key the host or instance config did not set."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
