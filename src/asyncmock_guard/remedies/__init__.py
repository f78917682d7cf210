"""One remedy module per finding kind, as ruff keeps one rule per module: each turns a diagnosis into the
message, the fix text and the fix as text edits (with their applicability).

``Remedy`` is what they all return; ``_mock_edits`` builds the edits several kinds share (make a mock a
MagicMock where it was built, add the ``await`` the code under test forgot).
"""

from __future__ import annotations

from asyncmock_guard.remedies._remedy import Remedy

__all__ = ["Remedy"]
