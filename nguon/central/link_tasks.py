"""Background tasks of the central link: a periodic exchange as a safety net beside the long-running loop."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from nguon.central.federation import sync


@db_periodic_task(crontab(minute="*"))
@lock_task("central-sync")
def central_sync():
    """Once a minute, a push and a quick pull for every active parent link that is not backing off.

    The loop (`central_sync --forever`) normally does this within a second; this covers an installation that runs
    only the Huey worker. A message delivered by both is applied once (the receiver's inbox is keyed).
    """
    sync.sync_once()
