"""SQLAlchemy models. The schema itself is built only by the Alembic revisions in migrations/."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Status(str, enum.Enum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


def status_column() -> Mapped[Status]:
    return mapped_column(
        Enum(Status, name="status", values_callable=lambda e: [m.value for m in e]),
        default=Status.pending,
    )


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    # The platform's operators: they make accounts, and may act on every app.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A disabled user's tokens are gone and no new ones are made; their apps stay.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Quotas an admin set for this user ({"apps": 5}); the others are the settings' defaults.
    quotas: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))
    # For the dashboard's sign-in (argon2, see domain/sign_in); None: the user has set none yet.
    password_hash: Mapped[str | None] = mapped_column(String(200))


class ApiToken(Timestamps, Base):
    """Only the SHA-256 of a token is kept: tokens are 256-bit random, so a slow hash adds nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class App(Timestamps, Base):
    __tablename__ = "apps"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # A team's app: its admins manage it, its members act as their permissions on it allow.
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"))
    # The app's config vars as Fernet-encrypted JSON; every release keeps its own snapshot too.
    config_vars: Mapped[bytes] = mapped_column(LargeBinary)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The stack the user chose (PATCH build_stack); None lets each build pick one.
    build_stack: Mapped[str | None] = mapped_column(String(30))
    # Buildpack installations in order (built-in names or URLs); empty = detect.
    buildpacks: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'"))
    # Where the runner asks a new web process whether it is ready (None: any answer on / will do).
    health_check_path: Mapped[str | None] = mapped_column(String(200))
    # Builds use the build cache of this generation; purging the cache starts a new one.
    build_cache_generation: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # Plain HTTP requests get a redirect to HTTPS (on every host of the app).
    force_https: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The router answers every request with the maintenance page (503); the processes keep running.
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    owner: Mapped[User] = relationship()
    team: Mapped["Team | None"] = relationship()


class Build(Timestamps, Base):
    __tablename__ = "builds"
    # The build queue: pending builds in order (a pusher is told its place).
    __table_args__ = (Index("builds_pending_created", "created_at", postgresql_where=text("status = 'pending'")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The pushed commit, or what a source-tarball build was given as its version (Heroku's
    # source_blob.version: not always a commit).
    source_version: Mapped[str] = mapped_column(String(40))
    # Where a source-tarball build's code comes from (None for git pushes).
    source_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[Status] = status_column()
    image: Mapped[str | None] = mapped_column(String(300))
    release_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("releases.id"))
    stack: Mapped[str | None] = mapped_column(String(30))
    # What built it: ["dockerfile"], or the buildpacks that ran, in order.
    buildpacks: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'"))
    slug_key: Mapped[str | None] = mapped_column(String(300))
    slug_size: Mapped[int | None] = mapped_column(BigInteger)
    # The build's whole output, kept once it has finished (live output is in Redis).
    output: Mapped[str | None] = mapped_column(Text)
    # Which worker took it and when: a worker that goes silent fails its build.
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    app: Mapped[App] = relationship()
    user: Mapped[User] = relationship()


class Release(Timestamps, Base):
    """Append-only history: deploys, config changes and rollbacks each add one."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("app_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    status: Mapped[Status] = status_column()
    # Image reference by digest (registry/app@sha256:...); None until the app has code.
    image: Mapped[str | None] = mapped_column(String(300))
    commit: Mapped[str | None] = mapped_column(String(40))
    # Process type -> command ("" = the image's own command).
    process_types: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    config_vars: Mapped[bytes] = mapped_column(LargeBinary)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The build this release's code came from (rollbacks and config changes carry it over).
    build_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("builds.id", name="releases_build_id_fkey", use_alter=True, ondelete="SET NULL"))
    stack: Mapped[str | None] = mapped_column(String(30))
    slug_size: Mapped[int | None] = mapped_column(BigInteger)
    # Which of its config vars came from add-ons: a rollback keeps the add-ons' current values.
    addon_keys: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default=text("'[]'"))

    app: Mapped[App] = relationship()
    user: Mapped[User] = relationship()


class Formation(Timestamps, Base):
    __tablename__ = "formations"
    __table_args__ = (UniqueConstraint("app_id", "type"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    size: Mapped[str] = mapped_column(String(30), default="basic")
    command: Mapped[str] = mapped_column(String(1000), default="")

    app: Mapped[App] = relationship()


class Addon(Timestamps, Base):
    """A backing service (a database, say) that belongs to one app and may be attached to more."""

    __tablename__ = "addons"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    service: Mapped[str] = mapped_column(String(30))
    plan: Mapped[str] = mapped_column(String(30))
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    # Heroku's states: provisioning, provisioned (deprovisioned ones are gone).
    state: Mapped[str] = mapped_column(String(20), default="provisioning")
    # What the provider made (user, password, host, url...) as Fernet-encrypted JSON.
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)

    app: Mapped[App] = relationship()
    attachments: Mapped[list["AddonAttachment"]] = relationship(back_populates="addon", passive_deletes=True)


class AddonAttachment(Timestamps, Base):
    """An add-on as one app sees it: its URL in that app's config as `<name>_URL`."""

    __tablename__ = "addon_attachments"
    __table_args__ = (UniqueConstraint("app_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    addon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("addons.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))

    addon: Mapped[Addon] = relationship(back_populates="attachments")
    app: Mapped[App] = relationship()

    @property
    def config_key(self) -> str:
        return f"{self.name}_URL"


class AppLink(Timestamps, Base):
    """The app's processes may reach the target's web processes at http://<target>.internal."""

    __tablename__ = "app_links"
    __table_args__ = (UniqueConstraint("app_id", "target_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)

    app: Mapped[App] = relationship(foreign_keys=[app_id])
    target: Mapped[App] = relationship(foreign_keys=[target_id])


class Domain(Timestamps, Base):
    """A host name of the user's routed to the app (`www.example.com`, `*.example.com`)."""

    __tablename__ = "domains"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    # Heroku's ACM states: pending, cert issued, failed; with why, when it failed.
    acm_status: Mapped[str | None] = mapped_column(String(30))
    acm_status_reason: Mapped[str | None] = mapped_column(Text)

    app: Mapped[App] = relationship()


class Team(Timestamps, Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(30), unique=True)


class TeamMember(Timestamps, Base):
    """Heroku's team roles: `admin` (every app of the team, and its members) or `member`."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    team: Mapped[Team] = relationship()
    user: Mapped[User] = relationship()


class Collaborator(Timestamps, Base):
    """A user other than the owner who may act on the app, as far as `permissions` go."""

    __tablename__ = "collaborators"
    __table_args__ = (UniqueConstraint("app_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    permissions: Mapped[list[str]] = mapped_column(JSONB)

    app: Mapped[App] = relationship()
    user: Mapped[User] = relationship()


class AuditEvent(Base):
    """Who changed what: every change made through the API or git (written in the change's own
    transaction, so it is there exactly when the change is), for admins to read."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(200))
    app: Mapped[str | None] = mapped_column(String(30))


class Event(Base):
    """A change to an app or what belongs to it, recorded in the change's own transaction (so it
    exists exactly when the change does), with who made it and the resource before and after.
    `seq` orders the recording; `position` is given by the one publisher as it delivers, in the
    order it delivers, so a reader that resumes after a position misses nothing committed late."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_unpublished", "seq", postgresql_where=text("position IS NULL")),
        Index("ix_events_app_position", "app_id", "position"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID]  # not a foreign key: an app's events outlive it (its destroy is one)
    app_name: Mapped[str] = mapped_column(String(30))
    resource: Mapped[str] = mapped_column(String(40))  # Heroku's: app, build, release, formation, dyno...
    action: Mapped[str] = mapped_column(String(20))  # create, update, destroy
    actor: Mapped[dict | None] = mapped_column(JSONB)  # {"id", "email"}; None: the platform itself
    data: Mapped[dict] = mapped_column(JSONB)
    previous_data: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Webhook(Timestamps, Base):
    """An app's webhook: where its events of the kinds it includes are POSTed. The secret that
    signs them and the Authorization header sent are encrypted at rest."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    include: Mapped[list[str]] = mapped_column(JSONB)  # Heroku's: api:release, api:build...
    level: Mapped[str] = mapped_column(String(10))  # notify: one try; sync: retried up to 72 hours
    url: Mapped[str] = mapped_column(String(2000))
    secrets: Mapped[bytes] = mapped_column(LargeBinary)  # {"secret": ..., "authorization": ...}, encrypted

    app: Mapped[App] = relationship()


class WebhookDelivery(Timestamps, Base):
    """One event for one webhook: its attempts so far (no bodies kept: a code and an error's kind)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'retrying')")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.seq", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, retrying, succeeded, failed
    num_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(60))  # the kind of failure: timeout, refused...

    webhook: Mapped[Webhook] = relationship()
    event: Mapped[Event] = relationship()


class WebSession(Base):
    """A dashboard sign-in: only the SHA-256 of the cookie's random token is kept."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PasswordLink(Base):
    """A one-time link where a user sets their password (made with their account)."""

    __tablename__ = "password_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Pipeline(Timestamps, Base):
    """Apps of one code base by stage (Heroku's pipelines): a release moves down them unrebuilt.
    Owned by a user or by a team (exactly one of the two)."""

    __tablename__ = "pipelines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(30), index=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))


class PipelineCoupling(Timestamps, Base):
    """An app's place in a pipeline: one pipeline per app, at one stage."""

    __tablename__ = "pipeline_couplings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), unique=True)
    stage: Mapped[str] = mapped_column(String(20))

    pipeline: Mapped[Pipeline] = relationship()
    app: Mapped[App] = relationship()


class PipelinePromotion(Timestamps, Base):
    """One release of a source app copied into target apps of its pipeline, each as a new release."""

    __tablename__ = "pipeline_promotions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    source_app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    source_release_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    targets: Mapped[list["PromotionTarget"]] = relationship(order_by="PromotionTarget.created_at", viewonly=True)


class PromotionTarget(Timestamps, Base):
    """A promotion's target app and the release it got there (its status is the release's)."""

    __tablename__ = "promotion_targets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_promotions.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    release_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))

    release: Mapped[Release] = relationship()


class ScheduledJob(Timestamps, Base):
    """A command run on a schedule (five-field cron, UTC), each run a one-off dyno `scheduler.N`
    of the app's current release."""

    __tablename__ = "scheduled_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    command: Mapped[str] = mapped_column(Text)
    schedule: Mapped[str] = mapped_column(String(100))
    size: Mapped[str] = mapped_column(String(30))
    concurrency_policy: Mapped[str] = mapped_column(String(10), default="forbid")  # forbid or allow
    declared_in: Mapped[str] = mapped_column(String(10), default="api")  # api, or app.json (replaced by each build's)
    # Runs due from then on are run (a missed one once); set anew when the schedule changes.
    scheduled_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    app: Mapped[App] = relationship()


class ScheduledRun(Base):
    """One due time of a job: run, or skipped (the previous still going); never two for one time."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("job_id", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    name: Mapped[str] = mapped_column(String(40))  # scheduler.N
    status: Mapped[str] = mapped_column(String(10))  # running, succeeded, failed, skipped
    release_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(String(200))  # why it failed or was skipped

    job: Mapped[ScheduledJob] = relationship()


class AppSetup(Timestamps, Base):
    """An app made from a source tarball and its app.json in one go (Heroku's app setups): the
    worker reads the manifest and configures the app; the runner's setups thread builds once its
    add-ons are up, runs `postdeploy` once the release is live, and destroys the app if any step
    fails (the setup stays, to say why)."""

    __tablename__ = "app_setups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    app_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("apps.id", ondelete="SET NULL"), index=True)
    app_name: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, succeeded, failed
    # prepare (the worker), addons, build, postdeploy, postdeploying (the runner), done
    phase: Mapped[str] = mapped_column(String(15), default="prepare")
    source_url: Mapped[str | None] = mapped_column(String(2000))  # None: the commit source_version of the app's repository
    source_version: Mapped[str] = mapped_column(String(40))
    environment: Mapped[str | None] = mapped_column(String(10))  # review or test: its keys of app.json apply
    overrides: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet-encrypted JSON: env values may be secrets
    manifest: Mapped[dict | None] = mapped_column(JSONB)
    addon_count: Mapped[int] = mapped_column(Integer, default=0)
    build_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("builds.id", ondelete="SET NULL"))
    failure_message: Mapped[str | None] = mapped_column(Text)
    manifest_errors: Mapped[list] = mapped_column(JSONB, default=list)
    postdeploy_exit_code: Mapped[int | None] = mapped_column(Integer)
    postdeploy_output: Mapped[str | None] = mapped_column(Text)

    app: Mapped[App | None] = relationship()
    user: Mapped[User] = relationship()


class ReviewAppConfig(Timestamps, Base):
    """A pipeline's review apps are on: a push of any branch but main or master to one of its
    apps makes (or updates) that branch's review app."""

    __tablename__ = "review_app_configs"

    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True)
    automatic_review_apps: Mapped[bool] = mapped_column(Boolean, default=True)
    destroy_stale_apps: Mapped[bool] = mapped_column(Boolean, default=False)
    stale_days: Mapped[int] = mapped_column(Integer, default=5)
    wait_for_ci: Mapped[bool] = mapped_column(Boolean, default=False)
    base_name: Mapped[str | None] = mapped_column(String(20))
    repo: Mapped[str | None] = mapped_column(String(200))


class ReviewApp(Timestamps, Base):
    """A branch's own app in a pipeline: made by an app setup (app.json's `review` environment),
    coupled at stage review, destroyed with the branch (after `pr-predestroy`) or when stale."""

    __tablename__ = "review_apps"
    __table_args__ = (UniqueConstraint("pipeline_id", "branch"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("apps.id", ondelete="SET NULL"), index=True)
    app_setup_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_setups.id", ondelete="SET NULL"))
    branch: Mapped[str] = mapped_column(String(255))
    pr_number: Mapped[int | None] = mapped_column(Integer)
    # creating, created, errored (from its setup), deleting, predestroying, deleted
    status: Mapped[str] = mapped_column(String(15), default="creating")
    message: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    app: Mapped[App | None] = relationship()
    setup: Mapped[AppSetup | None] = relationship()
    user: Mapped[User] = relationship()
