"""Cloudflare Workers AI: a wrangler project whose Worker calls the catalog model the plan chose."""

from edgespec.kinds.base import Kind

KIND = Kind(name="workers-ai", emitters=("edgespec.emit.workers",))
