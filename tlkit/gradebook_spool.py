"""Deprecated: the spool moved to :mod:`tlkit.gradebook.spool`; import it from there."""

import warnings

from tlkit.gradebook.spool import Spool, fallback_spool_path, make_private_folder, spooled_records

__all__ = ["Spool", "fallback_spool_path", "make_private_folder", "spooled_records"]

warnings.warn("tlkit.gradebook_spool is deprecated; import from tlkit.gradebook.spool instead",
              DeprecationWarning, stacklevel=2)
