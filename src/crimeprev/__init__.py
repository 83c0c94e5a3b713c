"""crimeprev: crime data into evidence for crime prevention.

The package has three faces (this library, the ``crimeprev`` CLI and a web
app) over two stores (an analytical warehouse and an operational database).
See DESIGN.md in the repository for the map.
"""

from importlib.metadata import PackageNotFoundError, version

from crimeprev.errors import CrimeprevError

try:
    __version__ = version("crimeprev")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["CrimeprevError", "__version__"]
