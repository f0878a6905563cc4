"""The add-on services paas offers, their plans, and how their credentials make a URL.

Pure data and functions: the servers themselves are made by `paas.addons`.
"""

import secrets
import string
import uuid
from dataclasses import dataclass, field

from paas.domain.errors import InvalidParams

# Heroku's colours for the config vars of a second (third...) database of an app.
COLORS = ("AMBER", "BLACK", "BLUE", "BRONZE", "BROWN", "CHARCOAL", "COBALT", "COPPER", "CRIMSON", "CYAN",
          "GOLD", "GRAY", "GREEN", "IVORY", "JADE", "LAVENDER", "MAROON", "MAUVE", "NAVY", "OLIVE", "ONYX",
          "ORANGE", "PINK", "PUCE", "PURPLE", "RED", "ROSE", "SILVER", "TEAL", "WHITE", "YELLOW")
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    memory_mb: int = 0  # the limit of its server's container (0: no server)
    env: dict[str, str] = field(default_factory=dict)  # what the server's image is told (its sizes)


@dataclass(frozen=True)
class AddonService:
    name: str
    human_name: str
    aliases: tuple[str, ...]
    plans: tuple[Plan, ...]  # the first is the default
    # The attachment name of the first one an app gets (DATABASE -> DATABASE_URL); None: the
    # user names it. Later ones are <color_prefix>_<COLOR>, as on Heroku.
    attachment_name: str | None
    color_prefix: str | None
    scheme: str = ""
    port: int = 0

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"paas:addon-service:{self.name}")

    @property
    def runs_server(self) -> bool:
        return bool(self.scheme)

    def plan(self, name: str) -> Plan:
        return next(p for p in self.plans if p.name == name)

    # Options its `config` may give when it is created: name -> (allowed values, credential set).
    options: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict)

    def url(self, credentials: dict[str, str]) -> str:
        """The URL its attachments put in the apps' config (Heroku's: rediss:// over TLS)."""
        if not self.runs_server:
            return credentials["url"]
        user = credentials.get("user", "")
        path = f"/{credentials['database']}" if "database" in credentials else ""
        scheme = self.scheme + ("s" if credentials.get("tls") else "")
        return f"{scheme}://{user}:{credentials['password']}@{credentials['host']}:{self.port}{path}"

    def new_credentials(self, host: str, config: dict) -> dict[str, str]:
        """Random credentials for a new add-on whose server answers at `host`, with its options."""
        unknown = set(config) - set(self.options)
        if unknown:
            raise InvalidParams(f"{self.name} takes no config {', '.join(sorted(unknown))}"
                                + (f"; it takes {', '.join(sorted(self.options))}." if self.options else "."))
        found = {"host": host, "password": random_secret(32)}
        for name, value in config.items():
            allowed, credential = self.options[name]
            if str(value).lower() not in allowed:
                raise InvalidParams(f"{self.name}'s {name} is one of {', '.join(sorted(allowed))}.")
            if str(value).lower() == "true":
                found[credential] = "1"
        if self.name == "postgresql":  # a role and a database of its own
            found["user"] = "u" + random_secret(13).lower()
            found["database"] = "d" + random_secret(13).lower()
        return found


def random_secret(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


SERVICES = (
    AddonService(
        "postgresql", "Postgres", ("heroku-postgresql", "postgres"),
        (Plan("basic", "Postgres 15, 256 MB, 20 connections", 256, {"POSTGRES_MAX_CONNECTIONS": "20", "POSTGRES_SHARED_BUFFERS": "16MB"}),
         Plan("standard", "Postgres 15, 1 GB, 120 connections", 1024, {"POSTGRES_MAX_CONNECTIONS": "120", "POSTGRES_SHARED_BUFFERS": "128MB"})),
        "DATABASE", "HEROKU_POSTGRESQL", scheme="postgres", port=5432,
    ),
    AddonService(
        "redis", "Redis", ("heroku-redis",),
        (Plan("mini", "Redis 7, 25 MB of data", 64, {"REDIS_MAXMEMORY": "25mb"}),
         Plan("premium", "Redis 7, 200 MB of data", 320, {"REDIS_MAXMEMORY": "200mb"})),
        "REDIS", "HEROKU_REDIS", scheme="redis", port=6379,
        options={"tls": (frozenset({"true", "false"}), "tls")},  # rediss:// with a certificate of its own
    ),
    AddonService("external", "External service (a URL you give)", ("user-provided",), (Plan("url", "A URL you give"),), None, None),
)
BY_NAME = {name: service for service in SERVICES for name in (service.name, *service.aliases)}


def find_plan(spec: object) -> tuple[AddonService, Plan]:
    """`postgresql`, `postgresql:standard`, `heroku-postgresql:basic` (or Heroku's {"name": ...}):
    a bare name is its default plan."""
    if isinstance(spec, dict):
        spec = spec.get("name")
    if not isinstance(spec, str) or not spec:
        raise InvalidParams('Give the add-on as "plan": "<service>[:<plan>]", e.g. "postgresql" or "redis:mini".')
    name, _, plan_name = spec.partition(":")
    service = BY_NAME.get(name)
    if service is None:
        raise InvalidParams(f"Couldn't find either the add-on service or the add-on plan of {spec!r}; "
                            f"the services are {', '.join(s.name for s in SERVICES)}.")
    if not plan_name:
        return service, service.plans[0]
    plan = next((p for p in service.plans if p.name == plan_name), None)
    if plan is None:
        raise InvalidParams(f"{service.name} has no plan {plan_name!r}; its plans are {', '.join(p.name for p in service.plans)}.")
    return service, plan
