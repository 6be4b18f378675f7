"""Cloudflare Workers AI: a wrangler project whose Worker calls the catalog model the plan chose."""

from edgespec.kinds.base import Kind, Remote

# Workers AI serves its own catalog's models, per request under a rate limit, from whichever
# Cloudflare location is nearest
KIND = Kind(
    name="workers-ai",
    emitters=("edgespec.emit.workers",),
    remote=Remote("cloud", "Workers AI", catalog_models=True, global_network=True),
)
