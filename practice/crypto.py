"""Health data at rest: the columns holding clients' own words are Fernet-encrypted.

The keys live outside the database: `PRACTICE_DATA_KEYS` in the app's config (or the
environment variable of that name), a list of Fernet keys. The first one encrypts; every one of
them decrypts, so a new key goes first, `practice rotate-keys` re-encrypts every row with it, and
the old key can then be removed.

A value is stored as a Fernet token (text starting "gAAAAA"). A value without that prefix is a
row written before encryption arrived (migration 0004 on a database it had no keys for): it reads
as it is, and `practice rotate-keys` encrypts it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app, has_app_context
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

KEYS_SETTING = "PRACTICE_DATA_KEYS"
KEY_FILE = "data_keys"
TOKEN_PREFIX = "gAAAAA"  # base64 of Fernet's version byte 0x80 and the timestamp's high zeros


class DataKeyError(RuntimeError):
    """The encryption keys are missing or malformed, or a value will not decrypt with them."""


class Cipher:
    """The practice's data keys: encrypt with the first, decrypt with any."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = [k.strip() for k in keys if k and k.strip()]
        if not self.keys:
            raise DataKeyError(f"{KEYS_SETTING} holds no keys")
        try:
            fernets = [Fernet(k.encode("ascii")) for k in self.keys]
        except (ValueError, UnicodeEncodeError):
            raise DataKeyError(
                f"{KEYS_SETTING}: every key must be a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `practice new-data-key`)"
            ) from None
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not is_token(stored):
            return stored  # written before encryption; `practice rotate-keys` encrypts it
        try:
            return self._all.decrypt(stored.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise DataKeyError(
                f"a stored value does not decrypt with any key in {KEYS_SETTING} "
                "(was a key removed before `practice rotate-keys` ran?)"
            ) from None

    def reencrypt(self, stored: str) -> str:
        """The value under the newest key (plaintext from before encryption gets encrypted)."""
        return self.encrypt(self.decrypt(stored))

    def is_current(self, stored: str) -> bool:
        """Whether the value is already encrypted with the newest key."""
        if not is_token(stored):
            return False
        try:
            self._primary.decrypt(stored.encode("ascii"))
        except InvalidToken:
            return False
        return True


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: Any) -> list[str]:
    """A list of keys, or a string holding a JSON list or keys separated by commas or spaces."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise DataKeyError(f"{KEYS_SETTING} is not a valid JSON list") from None
        else:
            return [k for k in text.replace(",", " ").split() if k]
    if not isinstance(value, list | tuple):
        raise DataKeyError(f"{KEYS_SETTING} must be a list of keys")
    return [str(k).strip() for k in value if str(k).strip()]


def configured_keys(config: Any) -> list[str]:
    """Keys from the app's config, else from the environment variable of the same name."""
    keys = parse_keys(config.get(KEYS_SETTING))
    if not keys:
        keys = parse_keys(os.environ.get(KEYS_SETTING))
    return keys


def instance_keys(instance_path: str) -> list[str]:
    """The standalone app's fallback: keys kept in the instance folder, made once (mode 0600)."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, KEY_FILE)
    try:
        with open(path, encoding="ascii") as f:
            keys = parse_keys(f.read())
            if keys:
                return keys
    except FileNotFoundError:
        pass
    key = new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return instance_keys(instance_path)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return [key]


def current_cipher() -> Cipher:
    if not has_app_context():
        raise DataKeyError("encrypted columns are read and written inside an app context")
    return current_app.extensions["practice"].cipher


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the current app's data keys; TEXT in the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return current_cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return current_cipher().decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document encrypted as a whole; TEXT in the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current_cipher().encrypt(json.dumps(value, sort_keys=True, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        return json.loads(current_cipher().decrypt(value))


# Every encrypted column, as (table, primary-key columns, column): what rotate-keys and the
# migration walk. Kept here, next to the types, so a new encrypted column is added in one place.
ENCRYPTED_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("practice_consultation", ("id",), "note"),
    ("practice_intake", ("id",), "result"),
    ("practice_intake", ("id",), "clinician_note"),
    ("practice_intake_answer", ("intake_id", "item_id"), "value"),
    ("practice_staff_user", ("id",), "totp_secret"),
)


Columns = tuple[tuple[str, tuple[str, ...], str], ...]

# What migration 0004 encrypted: migrations name their own columns, since the list above grows
# with later migrations whose columns don't exist yet when an older one runs.
COLUMNS_0004: Columns = ENCRYPTED_COLUMNS[:4]


def reencrypt_all(
    connection: Any, cipher: Cipher, batch: int = 500, columns: Columns = ENCRYPTED_COLUMNS
) -> int:
    """Re-encrypt every encrypted column with the newest key, on a connection, in raw SQL.

    Rows already under the newest key are left alone, so a run interrupted half-way can simply be
    run again. Returns how many values were rewritten.
    """
    from sqlalchemy import text

    quote = connection.dialect.identifier_preparer.quote
    rewritten = 0
    for table, keys, column in columns:
        key_list = ", ".join(quote(k) for k in keys)
        match = " AND ".join(f"{quote(k)} = :k{i}" for i, k in enumerate(keys))
        rows = connection.execute(
            text(
                f"SELECT {key_list}, {quote(column)} FROM {quote(table)} "
                f"WHERE {quote(column)} IS NOT NULL ORDER BY {key_list}"
            )
        ).all()
        update = text(f"UPDATE {quote(table)} SET {quote(column)} = :v WHERE {match}")
        pending: list[dict[str, Any]] = []
        for row in rows:
            stored = row[-1]
            if cipher.is_current(stored):
                continue
            params = {f"k{i}": row[i] for i in range(len(keys))}
            params["v"] = cipher.reencrypt(stored)
            pending.append(params)
            if len(pending) >= batch:
                connection.execute(update, pending)
                rewritten += len(pending)
                pending = []
        if pending:
            connection.execute(update, pending)
            rewritten += len(pending)
    return rewritten


def decrypt_all(connection: Any, cipher: Cipher, columns: Columns = ENCRYPTED_COLUMNS) -> int:
    """Turn every encrypted column back into plaintext (only for downgrading below 0004)."""
    from sqlalchemy import text

    quote = connection.dialect.identifier_preparer.quote
    rewritten = 0
    for table, keys, column in columns:
        key_list = ", ".join(quote(k) for k in keys)
        match = " AND ".join(f"{quote(k)} = :k{i}" for i, k in enumerate(keys))
        rows = connection.execute(
            text(f"SELECT {key_list}, {quote(column)} FROM {quote(table)}")
        ).all()
        update = text(f"UPDATE {quote(table)} SET {quote(column)} = :v WHERE {match}")
        params = [
            {**{f"k{i}": row[i] for i in range(len(keys))}, "v": cipher.decrypt(row[-1])}
            for row in rows
            if row[-1] is not None and is_token(row[-1])
        ]
        if params:
            connection.execute(update, params)
            rewritten += len(params)
    return rewritten


def app_cipher_or_none() -> Cipher | None:
    """The running app's cipher, when there is one (migrations run by `practice init-db`)."""
    if has_app_context() and "practice" in current_app.extensions:
        return getattr(current_app.extensions["practice"], "cipher", None)
    return None
