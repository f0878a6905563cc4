from celery import Celery

from paas.settings import Settings

# The build task's name: the API sends it by name (it does not import the builder), the worker registers it.
BUILD_TASK = "paas.builder.build"
SETUP_TASK = "paas.builder.setup"  # an app setup's source and app.json (paas.builder.setup)


def worker_answers(celery: Celery) -> bool:
    """Whether some build worker answers now (a broadcast: the first answer is enough)."""
    return bool(celery.control.ping(timeout=2, limit=1))


def make_celery(settings: Settings) -> Celery:
    celery = Celery("paas", broker=settings.redis_url)
    celery.conf.update(
        task_ignore_result=True,  # outcomes live in Postgres and in the build's log stream
        task_acks_late=True,
        # A worker killed mid-build (out of memory, say: builds run in its thread pool) hands its
        # task back: the next taker finds the build started and fails it as lost, not pending.
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # builds are long: do not hoard them
        broker_connection_retry_on_startup=True,
    )
    return celery
