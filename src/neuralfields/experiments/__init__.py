"""The research experiments as functions that write a report folder."""

from .memorize import MemorizeConfig, memorize

__all__ = ["MemorizeConfig", "memorize"]
