"""Packet to HTML (Jinja) to PDF (WeasyPrint), with fixed assets, shared fonts and a PDF cache."""

from __future__ import annotations

import mimetypes
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from practice.paths import STATIC_DIR, TEMPLATES_DIR
from practice.worksheets.assembly import Packet

ASSET_SCHEME = "practice-asset:"
ASSETS_DIR = STATIC_DIR / "print"
LAYOUT = "practice/print/worksheets.html"
STYLESHEET = ASSETS_DIR / "worksheets.css"
PAGE_SIZES = {"letter": "letter", "a4": "A4"}
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/ua-1"}


class AssetRefused(ValueError):
    """A URL that is not one of our own packaged print assets."""


class PackagedAssets(URLFetcher):
    """Serves files from practice/static/print/ only; every other URL is refused, unfetched."""

    def __init__(self, directory: Path = ASSETS_DIR) -> None:
        super().__init__(allowed_protocols=())
        self.directory = directory.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if not url.startswith(ASSET_SCHEME):
            raise AssetRefused(f"refused to fetch {url[:80]!r}: not a packaged print asset")
        path = (self.directory / url.removeprefix(ASSET_SCHEME).lstrip("/")).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            raise AssetRefused(f"refused to fetch {url[:80]!r}: no such packaged asset")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def _environment() -> jinja2.Environment:
    # Our own environment, not the host app's: autoescaping is forced on here whatever a host
    # configures, so a name such as <img src=...> always prints as text.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass
class Typesetter:
    """Parsed once per process and reused: fonts, the stylesheet, the layout, the image cache."""

    fetcher: PackagedAssets = field(default_factory=PackagedAssets)
    fonts: FontConfiguration = field(default_factory=FontConfiguration)
    environment: jinja2.Environment = field(default_factory=_environment)

    def __post_init__(self) -> None:
        self.stylesheet = CSS(
            string=STYLESHEET.read_text(encoding="utf-8"),
            base_url=ASSET_SCHEME,
            url_fetcher=self.fetcher,
            font_config=self.fonts,
        )
        self.page_sizes = {
            paper: CSS(string=f"@page {{ size: {size} }}", font_config=self.fonts)
            for paper, size in PAGE_SIZES.items()
        }
        self.images: dict[str, Any] = {}
        # WeasyPrint does not promise that one FontConfiguration is safe to share between
        # threads; renders are short, so a threaded server takes turns.
        self.lock = threading.Lock()

    def html(self, packet: Packet) -> str:
        return self.environment.get_template(LAYOUT).render(packet=packet)

    def pdf(self, packet: Packet) -> bytes:
        """Render without the cache (the benchmark and the cache itself call this)."""
        source = self.html(packet)
        with self.lock:
            document = HTML(string=source, base_url=ASSET_SCHEME, url_fetcher=self.fetcher)
            return document.write_pdf(
                stylesheets=[self.stylesheet, self.page_sizes[packet.paper]],
                font_config=self.fonts,
                pdf_forms=packet.fillable,
                cache=self.images,
                **PDF_OPTIONS,
            )


_shared: Typesetter | None = None
_shared_lock = threading.Lock()


def typesetter() -> Typesetter:
    """The process's one Typesetter, made on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Typesetter()
        return _shared


class PdfCache:
    """A small LRU of finished PDFs keyed on the whole Packet, bounded by count and bytes."""

    def __init__(self, max_items: int = 64, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[Packet, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_render(self, packet: Packet, render: Callable[[Packet], bytes]) -> bytes:
        with self._lock:
            pdf = self._items.get(packet)
            if pdf is not None:
                self._items.move_to_end(packet)
                self.hits += 1
                return pdf
            self.misses += 1
        pdf = render(packet)
        self._put(packet, pdf)
        return pdf

    def clear(self) -> None:
        """Forget every PDF (a client's data was erased: no copy of their names stays here)."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def _put(self, packet: Packet, pdf: bytes) -> None:
        if self.max_items <= 0 or len(pdf) > self.max_bytes:
            return
        with self._lock:
            if packet in self._items:
                return
            self._items[packet] = pdf
            self._bytes += len(pdf)
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


class Printer:
    """Prints packets through the shared Typesetter, serving repeats from its own cache."""

    def __init__(self, cache_size: int = 64, setter: Typesetter | None = None) -> None:
        self.setter = setter
        self.cache = PdfCache(max_items=cache_size)

    def _render(self, packet: Packet) -> bytes:
        return (self.setter or typesetter()).pdf(packet)

    def pdf(self, packet: Packet) -> bytes:
        return self.cache.get_or_render(packet, self._render)
