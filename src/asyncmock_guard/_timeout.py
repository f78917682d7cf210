"""pytest-timeout's thread method: a timer thread ends the whole process (``os._exit``) in the middle of the
test, after printing the stacks. No report of that test is made and no later hook of the guard runs, so
before it happens the guard says what the test had done wrong so far: it prints the findings on the
terminal, writes them to the report file, and in a pytest-xdist worker leaves them for the controller,
which lists them with the others (pytest-xdist reports the test as crashed).

The signal method needs nothing of this: it raises in the test, whose phases end as any failure's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import wrapt

from asyncmock_guard import _reporting, _xdist

if TYPE_CHECKING:
    from asyncmock_guard._plugin import GuardPlugin

_TITLE = "asyncmock-guard: findings of the test pytest-timeout ends"


class ThreadTimeouts:
    """Wraps ``pytest_timeout.timeout_timer`` (what the timer thread calls) while the guard is configured."""

    def __init__(self, guard: GuardPlugin, module: Any) -> None:
        self.guard = guard
        self.module = module
        self.original = module.timeout_timer
        wrapt.wrap_function_wrapper(module, "timeout_timer", self._before_exit)

    @classmethod
    def watch(cls, guard: GuardPlugin) -> None:
        """When pytest-timeout is loaded and its timer is what this code knows, wrap it until the session's
        cleanup."""
        module = guard.config.pluginmanager.get_plugin("timeout")
        if module is None or not callable(getattr(module, "timeout_timer", None)):
            return
        watch = cls(guard, module)
        guard.config.add_cleanup(watch.unwrap)

    def unwrap(self) -> None:
        self.module.timeout_timer = self.original

    def _before_exit(self, wrapped: Any, instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        item = args[0] if args else kwargs.get("item")
        settings = args[1] if len(args) > 1 else kwargs.get("settings")
        if isinstance(item, pytest.Item) and self._will_exit(settings):
            with self.guard.errors.shielded():
                self.report(item)
        return wrapped(*args, **kwargs)

    def _will_exit(self, settings: Any) -> bool:
        """pytest-timeout does nothing when a debugger is attached (unless told not to look)."""
        is_debugging = getattr(self.module, "is_debugging", None)
        if getattr(settings, "disable_debugger_detection", False) or not callable(is_debugging):
            return True
        return not is_debugging()

    def report(self, item: pytest.Item) -> None:
        guard = self.guard
        collector = guard._watching()
        if collector is None:
            return
        collector.confirm_assignments()
        findings = guard.outcomes.account([guard.outcomes.judged(finding) for finding in collector.drain()], None)
        if not findings:
            return
        if guard.is_worker:
            _xdist.leave_for_controller(guard.config, findings, _xdist.KILLED)
        capture = guard.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=True)  # pytest-timeout reads what was captured after this
        terminal = guard.config.get_terminal_writer()
        terminal.sep("+", title=_TITLE)
        count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
        terminal.line(f"{item.nodeid} timed out; pytest-timeout ends the run before reporting it. Its {count}:")
        for finding in findings:
            terminal.line(_reporting.format_finding(finding, guard.rootdir))
        terminal.flush()
        if guard.reports:
            guard.files.write_report(guard.outcomes.findings, None)
