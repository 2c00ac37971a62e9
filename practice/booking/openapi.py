"""The OpenAPI 3.1 description of the public booking API."""

from __future__ import annotations

from typing import Any

from practice.timefmt import known_zones

# No NUL characters anywhere: no person types one, and PostgreSQL cannot store one.
NO_NUL = r"^[^\u0000]*$"
# ISO 8601 with a zone, to the minute or second: what /slots lists and what booking accepts.
# (Days 29-31 are valid too; the pattern stops at 28 so that every string it allows is a
# real date, as the document promises for generated requests.)
START_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9])?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$"
)

_SLOT = {
    "type": "object",
    "required": ["start", "end", "local_start", "timezone"],
    "properties": {
        "start": {"type": "string", "description": "UTC, e.g. 2026-03-02T14:00Z"},
        "end": {"type": "string"},
        "local_start": {"type": "string", "format": "date-time"},
        "timezone": {"type": "string"},
        "therapist": {"type": "string"},
    },
}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "nearest": {"type": "array", "items": {"$ref": "#/components/schemas/Slot"}},
    },
}
_BOOKING_REQUEST = {
    "type": "object",
    "required": [
        "therapist",
        "start",
        "name",
        "email",
        "consent",
        "not_emergency",
        "idempotency_key",
    ],
    "properties": {
        "therapist": {
            "type": "string",
            "pattern": NO_NUL,
            "description": "slug from /therapists; an unknown one is a 404",
        },
        "start": {
            "type": "string",
            "pattern": START_PATTERN,
            "description": "a slot's start as /slots lists it, e.g. 2026-03-02T14:00Z; "
            "a time more than two years from now is a 422",
        },
        "tz": {"$ref": "#/components/schemas/TimeZone"},
        "name": {
            "type": "string",
            "maxLength": 120,
            "pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        },
        "email": {"type": "string", "format": "email", "maxLength": 254, "pattern": NO_NUL},
        "phone": {"type": "string", "pattern": r"^\+?[0-9 ().\-]{6,30}$"},
        "kind": {"type": "string", "enum": ["individual", "couple"]},
        "partner_name": {"type": "string", "maxLength": 120, "pattern": NO_NUL},
        "partner_email": {"type": "string", "format": "email", "maxLength": 254, "pattern": NO_NUL},
        "note": {"type": "string", "maxLength": 1000, "pattern": NO_NUL},
        "consent": {"const": True, "description": "agreed to the privacy notice"},
        "not_emergency": {
            "const": True,
            "description": "understands this is not an emergency service",
        },
        "idempotency_key": {
            "type": "string",
            "pattern": "^[0-9a-f]{32}$",
            "description": "a fresh random key per booking attempt; retries reuse it with "
            "the same therapist, start and email",
        },
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def openapi_document(base_path: str) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    tz_param = {
        "name": "tz",
        "in": "query",
        "required": False,
        "schema": {"$ref": "#/components/schemas/TimeZone"},
        "description": "IANA time zone for local_start, e.g. Europe/London",
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Practice booking API", "version": "1"},
        "servers": [{"url": base_path}],
        "paths": {
            "/therapists": {
                "get": {
                    "summary": "Therapists taking new clients",
                    "responses": {
                        "200": {"description": "therapists", **_json({"type": "object"})}
                    },
                }
            },
            "/therapists/{slug}/slots": {
                "get": {
                    "summary": "Open consultation slots",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": NO_NUL},
                        },
                        tz_param,
                        {
                            "name": "from",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "pattern": START_PATTERN},
                            "description": "the earliest start wanted, e.g. 2026-03-02T00:00Z; "
                            "more than two years from now is a 400",
                        },
                        {
                            "name": "days",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 31},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "slots",
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "slots": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Slot"},
                                        }
                                    },
                                }
                            ),
                        },
                        "400": {"description": "bad parameter", **_json(error)},
                        "404": {"description": "no such therapist", **_json(error)},
                    },
                }
            },
            "/first-available": {
                "get": {
                    "summary": "Soonest open slots across therapists",
                    "parameters": [tz_param],
                    "responses": {
                        "200": {"description": "slots", **_json({"type": "object"})},
                        "400": {"description": "bad parameter", **_json(error)},
                    },
                }
            },
            "/consultations": {
                "post": {
                    "summary": "Book a free consultation",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        **_json({"$ref": "#/components/schemas/BookingRequest"}),
                    },
                    "responses": {
                        "201": {"description": "booked", **_json({"type": "object"})},
                        "200": {
                            "description": "the same request again (same key, therapist, "
                            "start and email): the earlier booking",
                            **_json({"type": "object"}),
                        },
                        "400": {"description": "not JSON", **_json(error)},
                        "404": {"description": "no such therapist", **_json(error)},
                        "409": {"description": "that time was just taken", **_json(error)},
                        "422": {
                            "description": "details to correct, or an idempotency key already "
                            "used for a different therapist, start or email",
                            **_json(error),
                        },
                        "429": {"description": "too many requests", **_json(error)},
                    },
                }
            },
            "/consultations/{token}/cancel": {
                "post": {
                    "summary": "Cancel with the token from the booking response",
                    "parameters": [
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": NO_NUL},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "cancelled (or its status, if it already took place)",
                            **_json({"type": "object"}),
                        },
                        "404": {"description": "invalid or expired token", **_json(error)},
                        "409": {"description": "it has already started", **_json(error)},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Slot": _SLOT,
                "Error": _ERROR,
                "BookingRequest": _BOOKING_REQUEST,
                "TimeZone": {
                    "type": "string",
                    "description": "an IANA time zone name, e.g. Europe/London",
                    "enum": ["UTC", *known_zones()],
                },
            }
        },
    }
