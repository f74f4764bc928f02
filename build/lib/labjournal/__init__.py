"""labjournal: a reflective journal whose numbers, tables and figures come from re-runnable notebooks."""

__version__ = "0.1.0"
