"""Worker tasks of the central app (huey finds them in this module)."""

from nguon.central import link_tasks, up_tasks  # noqa: F401  (each module registers its tasks on import)
