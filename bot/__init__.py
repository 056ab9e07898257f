"""Service composition: the aiohttp app factory, chat adapters, web console and CLI."""
