"""Stage 1: bytes → plain data + a source map. The only stage that reads files."""

from edgespec.load.loader import Limits, Loaded, load_bytes, load_path
from edgespec.load.sourcemap import SourceMap, Span, pointer_join

__all__ = ["Limits", "Loaded", "SourceMap", "Span", "load_bytes", "load_path", "pointer_join"]
