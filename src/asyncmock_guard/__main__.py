"""``python -m asyncmock_guard FILE``: summarize a report or a baseline (see ``_cli``)."""

from asyncmock_guard._cli import main

raise SystemExit(main())
