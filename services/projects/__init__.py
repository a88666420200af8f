"""Projects service: the yearly calendar, voted projects, plans and department progress."""
