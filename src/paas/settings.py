"""The one settings class. Every value can be overridden by a `PAAS_*` environment variable."""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class DynoSize(BaseModel):
    """What a process of one size may use: memory (over it, the process is killed and restarted
    like a crash), its CPU weight against the host's other processes, and how many tasks."""

    memory_mb: int
    cpu_shares: int
    pids: int


# Heroku's names and memory; CPU weights grow with the size (1024 is Docker's default).
DYNO_SIZES = {
    "eco": DynoSize(memory_mb=512, cpu_shares=512, pids=256),
    "basic": DynoSize(memory_mb=512, cpu_shares=1024, pids=256),
    "standard-1x": DynoSize(memory_mb=512, cpu_shares=1024, pids=256),
    "standard-2x": DynoSize(memory_mb=1024, cpu_shares=2048, pids=512),
    "performance-m": DynoSize(memory_mb=2560, cpu_shares=4096, pids=4096),
    "performance-l": DynoSize(memory_mb=14336, cpu_shares=8192, pids=16384),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAAS_")

    # Where state lives: git repositories, the admin token, the secret key, logs and pid files.
    home: Path = Path(".paas")
    # Survives fresh clones on the same machine (CI): the debootstrap rootfs tarball.
    cache_dir: Path = Path("/var/cache/paas")

    api_host: str = "127.0.0.1"
    api_port: int = 5100
    # The dashboard (served by the API at /): how long a sign-in lasts, and how many failed
    # sign-ins one email from one client address may have in 15 minutes (dashboard/limits.py).
    dashboard_session_hours: float = 12.0
    sign_in_attempts: int = 10
    # `heroku run` attaches to one-off dynos here (Heroku's rendezvous: TLS, then raw bytes), on
    # api_host; 0: off (the paas CLI attaches through the API's WebSocket either way). The
    # certificate: the operator's files, or (unset) one made by the platform's own CA.
    rendezvous_port: int = 5101
    rendezvous_cert: Path | None = None
    rendezvous_key: Path | None = None
    # A URL that names no password gets the one `make up` made in home (postgres-password,
    # redis-password) when that file can be read; see _passwords.
    database_url: str = "postgresql+psycopg://paas@127.0.0.1:5432/paas"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Apps answer at http://<app>.<domain>:<router_port>.
    domain: str = "localhost"
    router_host: str = "127.0.0.1"
    router_port: int = 8080
    # Apps answer HTTPS too, at https://<app>.<domain>:<router_tls_port>.
    router_tls_port: int = 8443
    # Caddy's admin API: empty for the platform's socket (run/caddy-admin.sock under home; a TCP
    # port would be reachable by any Dockerfile build's ADD), or an http:// URL.
    caddy_admin_url: str = ""
    # Custom domains get certificates from this ACME directory (e.g. Let's Encrypt's
    # https://acme-v02.api.letsencrypt.org/directory); empty: no ACME, so paas never contacts a
    # CA unasked. acme_ca_root: the CA file that the directory's own HTTPS is checked with (a
    # test CA such as pebble's); acme_email: the account's contact.
    acme_directory: str = ""
    acme_email: str = ""
    acme_ca_root: Path | None = None
    # A custom domain is added only once its DNS proves it is the user's (a TXT record the API
    # names); off by default, as on Heroku. domain_verify_dns: the name server to ask (host:port),
    # empty for the host's own resolvers.
    domain_verify: bool = False
    domain_verify_dns: str = ""
    # Names under one wildcard domain that may get a certificate (each is an ACME order).
    wildcard_certificates: int = 20
    # The router's name server (dnsmasq, started with the other services): Caddy looks up which
    # processes serve an app there, so deploys never change Caddy's configuration.
    router_dns: str = "127.0.0.1:5353"
    # Where an app with no web process points: the router's own 503 page answers there.
    router_idle_address: str = "127.0.0.2"
    # What the name server answers for a name that is no app's: the router's 404 page is there.
    router_unknown_address: str = "127.0.0.4"
    # Where an app in maintenance points: the router's maintenance page (503) answers there.
    router_maintenance_address: str = "127.0.0.6"
    # Seconds a web process that left the router keeps running before SIGTERM: Caddy looks the
    # app's name up again every 50 ms, so after this no new request reaches it.
    router_drain: float = 1.0

    registry: str = "127.0.0.1:5000"
    docker_url: str = "unix:///var/run/docker.sock"
    runner_backend: str = "docker"  # or "swarm": the formation as services over a swarm's nodes
    # Where a swarm's nodes pull the platform's images from (the registry at an address all of
    # them reach, with TLS they trust); empty: the registry's own address.
    swarm_registry: str = ""
    # Labels this installation's containers, so that two installations (or the tests) sharing a
    # Docker engine never stop each other's processes.
    instance: str = "paas"
    stack_image: str = "paas/stack:bookworm"
    # uid:gid app processes run as when their image's user is root (Heroku never runs dynos as root).
    dyno_user: str = "10000:10000"
    # The CA bundle builds trust (baked into the stack image; containers reach PyPI only with it).
    build_ca_bundle: Path = Path("/etc/ssl/certs/ca-certificates.crt")

    # Seconds a new web process has to answer HTTP on $PORT before its release is marked failed.
    boot_timeout: float = 60.0
    # Seconds the `release` command of a Procfile may run before its release fails.
    release_phase_timeout: float = 900.0
    # Seconds between SIGTERM and SIGKILL when an old process is stopped.
    stop_grace: int = 30
    # Seconds the runner waits between full sweeps when nothing wakes it.
    reconcile_interval: float = 10.0
    # Seconds a build may go without printing anything before the push gives up on it.
    build_idle_timeout: float = 900.0
    # A build whose worker has not shown a sign of life for this long is failed (worker lost).
    build_worker_lost_after: float = 30.0
    # Dockerfile builds run rootless buildah as this system user (`make up` creates it, with
    # subordinate ids), each app with an image store of its own; no build reaches the Docker engine.
    build_user: str = "paasbuild"
    # The bridge builds sit on: a way out to package registries, no way to the host or each other.
    build_network: str = "paas-builds"
    # Fetches made for a tenant (source URLs, buildpacks) never reach loopback, private or
    # link-local addresses (paas.outbound), except in these networks: comma-separated, e.g.
    # `10.20.0.0/16,fd00:1::/64`. Empty: none.
    outbound_allow: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    # Limits of a build (a buildpack build's container; a Dockerfile build's buildah processes).
    build_timeout: float = 900.0
    build_memory: str = "2g"
    build_cpus: float = 2.0
    build_pids: int = 2048
    build_output_limit: int = 8 * 2**20  # bytes of output; past it the build is stopped
    # Heroku's limit on the compressed slug.
    slug_size_limit: int = 500 * 2**20
    # Largest request body the API reads (JSON); uploads of source tarballs have their own limit.
    api_body_limit: int = 2**20
    # Requests a user may make to the API in an hour, all their tokens together (Heroku's limit).
    api_rate_limit: int = 4500
    # Live event streams (GET /apps/{app}/events as server-sent events) a user may hold open at
    # once: each holds a Redis connection while it lasts.
    live_streams_per_user: int = 20
    # What each user may have at once, unless an admin set other quotas for them
    # (`PATCH /accounts/{email}/quotas`); admins have none. Dynos: the formation's quantities
    # over the user's apps; one-off dynos: runs going on at once; authorizations: API tokens.
    quota_apps: int = 100
    quota_addons: int = 100
    quota_dynos: int = 100
    quota_one_off_dynos: int = 10
    quota_authorizations: int = 100
    # Largest git push (the pack sent), in bytes.
    push_size_limit: int = 1024 * 2**20
    # Largest source tarball accepted by POST /sources uploads.
    source_size_limit: int = 500 * 2**20
    # A build's source unpacked (a commit's tree or a tarball): bytes of its files, and how many.
    source_unpacked_limit: int = 2 * 2**30
    source_files_limit: int = 100_000
    # Port the web process listens on inside its container ($PORT).
    web_port: int = 5000
    # Formation sizes (`PAAS_DYNO_SIZES` as JSON: {"name": {"memory_mb": .., "cpu_shares": .., "pids": ..}}).
    dyno_sizes: dict[str, DynoSize] = DYNO_SIZES

    # The add-on servers' images by service (built by `python -m paas.addons.images`).
    addon_images: dict[str, str] = {"postgresql": "paas/addon-postgresql:15", "redis": "paas/addon-redis:7"}
    # Where the private networks between apps and their add-ons (and linked apps) take their
    # addresses: one /25 each, so 512 of them in the default /16.
    private_network_pool: str = "10.213.0.0/16"
    private_network_prefix: int = 25
    # Seconds an API call that provisions, attaches or rotates waits for it to finish; past it
    # the answer says it is still under way (Heroku's "provisioning").
    addon_wait: float = 60.0

    # Lines kept per app (Heroku's logplex keeps 1,500).
    log_lines: int = 10_000
    # Where the runner takes the lines Docker forwards from app processes (fluentd's protocol).
    log_collector: str = "127.0.0.1:5170"
    # Lines per second an app may log; past it lines are dropped and the drop is counted in its logs.
    log_rate: int = 1000
    # The router's access lines have a budget of their own, so outside traffic never drops or
    # pushes out the app's own lines: this many a second, and `log_lines` of them kept apart.
    router_log_rate: int = 1000
    # Seconds a one-off process (`paas run`) may run; Heroku's limit is a day.
    one_off_timeout: float = 24 * 3600.0
    # Seconds a webhook's receiver has to answer one delivery; a `sync` webhook's first retry
    # waits `webhook_retry_base` seconds, each next one twice as long, up to an hour.
    webhook_timeout: float = 10.0
    webhook_retry_base: float = 2.0

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _networks(cls, value):
        if not isinstance(value, str):
            return value
        networks = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(ip_network(entry))
            except ValueError as error:
                raise ValueError(f"{entry!r} is not a network such as 10.0.0.0/8 or fd00::/8 ({error})") from None
        return tuple(networks)

    @model_validator(mode="after")
    def _passwords(self) -> "Settings":
        """The services' passwords live in files of home (0600, made once by `make up`), never in
        the environment or on a command line; a process that may not read them (the `paas` CLI of
        a normal user) keeps the URLs as they are."""
        self.database_url = with_password(self.database_url, self.home / "postgres-password")
        self.redis_url = with_password(self.redis_url, self.home / "redis-password")
        return self

    @property
    def dyno_ids(self) -> tuple[int, int]:
        uid, _, gid = self.dyno_user.partition(":")
        return int(uid), int(gid or uid)

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def registry_auth(self, role: str) -> tuple[str, str] | None:
        """(user, password) the builder or the runner gives the registry's token realm; None
        while the registry asks for none (`make up` writes the files)."""
        try:
            return role, (self.home / "registry-users" / role).read_text().strip()
        except FileNotFoundError:
            return None

    @property
    def caddy_admin(self) -> str:
        """The admin API: `unix/<socket>` or `http://host:port`."""
        return self.caddy_admin_url or f"unix/{(self.home / 'run' / 'caddy-admin.sock').resolve()}"

    @property
    def admin_token_file(self) -> Path:
        return self.home / "admin-token"

    @property
    def metrics_dir(self) -> Path:
        return self.home / "metrics"

    @property
    def admin_password_file(self) -> Path:
        return self.home / "admin-password"

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret-key"

    @property
    def repos_dir(self) -> Path:
        return self.home / "repos"

    @property
    def router_hosts_dir(self) -> Path:
        """One hosts file per app: the addresses of its web processes, read by the name server."""
        return self.home / "router" / "hosts.d"

    @property
    def router_pages_dir(self) -> Path:
        """Apps' own maintenance pages (MAINTENANCE_PAGE_URL, fetched by the runner), one file per app."""
        return self.home / "router" / "pages"

    @property
    def router_ca_file(self) -> Path:
        """The root certificate of the router's own CA, which signs the apps' HTTPS certificates."""
        return self.home / "router-ca.crt"

    @property
    def rendezvous_ca_file(self) -> Path:
        """The root certificate of the CA that signs the rendezvous's own certificate."""
        return self.home / "rendezvous-ca.crt"

    @property
    def router_tls_log_file(self) -> Path:
        """Caddy's certificate events (JSON lines): why a domain's certificate could not be had."""
        return self.home / "router" / "tls.log"

    @property
    def router_log_file(self) -> Path:
        """The router's access log (JSON lines), which the runner reads into the apps' logs."""
        return self.home / "router" / "access.log"

    @property
    def slugs_dir(self) -> Path:
        return self.home / "slugs"

    @property
    def sources_dir(self) -> Path:
        return self.home / "sources"

    @property
    def build_cache_root(self) -> Path:
        """CACHE_DIR of buildpack builds, one per app and stack; fetched buildpacks beside them."""
        return self.home / "build-cache"

    @property
    def build_stores(self) -> Path:
        """Dockerfile builds' image stores: `base` (the stacks' run images, read-only to builds)
        and one per app in its build cache."""
        return self.build_cache_root / "images"

    def app_host(self, app_name: str) -> str:
        return f"{app_name}.{self.domain}"

    def web_url(self, app_name: str) -> str:
        port = "" if self.router_port == 80 else f":{self.router_port}"
        return f"http://{self.app_host(app_name)}{port}/"

    def git_url(self, app_name: str) -> str:
        return f"{self.api_url}/{app_name}.git"


def with_password(url: str, password_file: Path) -> str:
    """`url` with the password in `password_file` when it names none and the file can be read."""
    parts = urlsplit(url)
    if parts.password is not None or not parts.hostname:
        return url
    try:
        password = password_file.read_text().strip()
    except OSError:
        return url
    if not password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(parts.username or '', safe='')}:{quote(password, safe='')}@{host}"))


@lru_cache
def get_settings() -> Settings:
    return Settings()
