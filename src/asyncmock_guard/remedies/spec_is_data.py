"""``spec-is-data``: ``AsyncMock(data)`` takes ``data`` as its spec, not its return value; and a
``MagicMock(data)`` made what awaiting an AsyncMock gives is a mock shaped like the data, not the data."""

from __future__ import annotations

from asyncmock_guard import _advice, _edits
from asyncmock_guard._findings import Location
from asyncmock_guard._source import CallSite
from asyncmock_guard.remedies._mock_edits import added_lines, where_to_edit
from asyncmock_guard.remedies._remedy import SAFE, Remedy


def _with_edit(message: str, fix: str, edit: _edits.Edit | None, where: Location, rootdir: str | None) -> Remedy:
    if edit is None:
        return Remedy(f"{message} (No edit is offered: the source of the call cannot be read.)", fix, change_at=where)
    alternatives = [line for line in fix.splitlines() if line.startswith("# or")]
    text = "\n".join([where_to_edit((edit,), rootdir), *added_lines((edit,)), *alternatives])
    return Remedy(message, text, (edit,), SAFE, where)


def remedy(
    site: CallSite | None, class_name: str, spec: object, subject: str, where: Location, *, rootdir: str | None
) -> Remedy:
    """``AsyncMock(rows)`` -> ``AsyncMock(return_value=rows)``, the rest of the call as written."""
    message, fix = _advice.spec_is_data(site, class_name, spec, subject)
    edit = None
    if site is not None and site.call.args:
        first = site.text(site.call.args[0])
        rebuilt = _advice.rebuilt_call(site, site.text(site.call.func), first=first, keep_first_as="return_value")
        edit = _edits.replace_node(site.path, site.call, rebuilt)
    return _with_edit(message, fix, edit, where, rootdir)


def data_as_awaited_result(
    site: CallSite | None, construction: object, subject: str, where: Location, rootdir: str | None
) -> Remedy:
    """``X.return_value = MagicMock(rows)`` on an AsyncMock ``X``: the data itself is what awaiting gives."""
    message, fix = _advice.data_mock_as_awaited_result(site, construction, subject)
    edit = None
    if site is not None and site.call.args:
        edit = _edits.replace_node(site.path, site.call, site.text(site.call.args[0]))
    return _with_edit(message, fix, edit, where, rootdir)
