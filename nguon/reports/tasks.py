"""Worker tasks of the reports app (huey finds them in this module): report runs, schedules, planning, retention."""

from nguon.reports import inventory_tasks, retention_tasks, run_tasks  # noqa: F401  (each module registers its tasks on import)
