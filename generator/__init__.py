"""kb: a curated knowledge base compiled from YAML records into a static wiki.

Stages, in order: load -> validate -> mermaid -> link -> score -> render -> build -> export.
"""
__version__ = "0.1.0"
