"""Asset recovery registry: frozen, seized and confiscated assets from identification to disposal.

Modules: :mod:`~crimeprev.assets.lifecycle` (the state machine),
:mod:`~crimeprev.assets.money` (Decimal amounts with ISO 4217 codes),
:mod:`~crimeprev.assets.models` (tables), and the service modules that the
CLI, the API and the pages call.
"""
