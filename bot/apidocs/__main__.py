"""`python -m bot.apidocs [--check] [--out PATH]`: write (or check) docs/api.md."""

from bot.apidocs.build import main

raise SystemExit(main())
