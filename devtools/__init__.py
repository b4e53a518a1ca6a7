"""Developer tools (test doubles, demo helpers); not shipped with the app."""
