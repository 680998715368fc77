"""Output helpers: files and directories written atomically, so no reader ever sees half an output."""

from .atomic import atomic_dir, atomic_file, write_bytes, write_text

__all__ = ["atomic_dir", "atomic_file", "write_bytes", "write_text"]
