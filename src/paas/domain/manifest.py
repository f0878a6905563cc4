"""app.json (Heroku's app manifest), parsed strictly: every problem is listed at once, and nothing
is made from a manifest that has one.

Read: `env` (plain values, or {description, value, required, generator: "secret"}), `formation`,
`addons` ("service[:plan]" or {plan, as, options}), `buildpacks` ([{url}]), `stack`, `scripts`
(`postdeploy`, `pr-predestroy`, `test`), `environments.review` and `environments.test` (their
keys override the top level's: env, formation and scripts key by key, the others whole), and
`cron` ([{command, schedule, size?, concurrency_policy?}], paas' own). Heroku's descriptive keys
(name, description, keywords, website, repository, logo, success_url) are checked for type only.
Pure functions.
"""

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from paas.domain import addon_services, formation, scheduled_jobs, stacks
from paas.domain.errors import InvalidParams
from paas.domain.names import CONFIG_KEY, RESERVED_CONFIG_KEYS

MAX_BYTES = 256 * 1024
ENVIRONMENTS = ("review", "test")
SCRIPTS = ("postdeploy", "pr-predestroy", "test")
TEXT_KEYS = ("name", "description", "website", "repository", "logo", "success_url", "image")
OVERRIDABLE = ("env", "formation", "addons", "buildpacks", "scripts", "stack", "cron")
KNOWN = (*TEXT_KEYS, "keywords", *OVERRIDABLE, "environments")


class ManifestErrors(InvalidParams):
    """A manifest with problems: all of them, in `details["manifest_errors"]`."""

    def __init__(self, errors: list[str]):
        super().__init__("app.json has problems: " + "; ".join(errors), manifest_errors=errors)
        self.errors = errors


@dataclass(frozen=True)
class EnvVar:
    value: str | None = None
    required: bool = True
    generator: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Addon:
    plan: str
    as_: str | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    env: dict[str, EnvVar] = field(default_factory=dict)
    formation: dict[str, dict] = field(default_factory=dict)  # type -> {"quantity", "size"?}
    addons: tuple[Addon, ...] = ()
    buildpacks: tuple[str, ...] = ()
    stack: str | None = None
    scripts: dict[str, str] = field(default_factory=dict)
    cron: tuple[dict, ...] = ()

    def config(self, given: dict[str, str] | None = None) -> dict[str, str]:
        """The config vars it sets: values given (overrides) first, then its own values, then
        generated secrets. ManifestErrors naming every required var with none."""
        given = given or {}
        config, missing = {}, []
        for key, var in self.env.items():
            if key in given:
                config[key] = given[key]
            elif var.value is not None:
                config[key] = var.value
            elif var.generator == "secret":
                config[key] = secrets.token_hex(32)
            elif var.required:
                missing.append(key)
        config.update({k: v for k, v in given.items() if k not in config})
        if missing:
            raise ManifestErrors([f"env.{key}: required, and no value was given" for key in missing])
        return config


def parse(text: str | bytes, environment: str | None = None, sizes: dict | None = None) -> Manifest:
    """The manifest of an app.json's text, with `environment`'s keys over the top level's."""
    if len(text) > MAX_BYTES:
        raise ManifestErrors([f"app.json is over {MAX_BYTES // 1024} kB"])
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ManifestErrors([f"app.json is not JSON: {error}"]) from None
    return from_dict(data, environment, sizes)


def from_dict(data: Any, environment: str | None = None, sizes: dict | None = None) -> Manifest:
    sizes = sizes or {}
    errors: list[str] = []
    if not isinstance(data, dict):
        raise ManifestErrors(["app.json must be a JSON object"])
    for key in data:
        if key not in KNOWN:
            errors.append(f"{key}: not a key of app.json")
    for key in TEXT_KEYS:
        if key in data and not isinstance(data[key], str):
            errors.append(f"{key}: must be a string")
    if "keywords" in data and not (isinstance(data["keywords"], list) and all(isinstance(k, str) for k in data["keywords"])):
        errors.append("keywords: must be a list of strings")
    environments = data.get("environments", {})
    if not isinstance(environments, dict):
        errors.append("environments: must be an object")
        environments = {}
    for name, overrides in environments.items():
        if name not in ENVIRONMENTS:
            errors.append(f"environments.{name}: only {' and '.join(ENVIRONMENTS)} are read")
        elif not isinstance(overrides, dict):
            errors.append(f"environments.{name}: must be an object")
        else:
            for key in overrides:
                if key not in OVERRIDABLE:
                    errors.append(f"environments.{name}.{key}: cannot be set per environment")
            _check(overrides, f"environments.{name}.", sizes, errors)  # each environment's own problems too
    _check(data, "", sizes, errors)  # each problem once, where it is
    if errors:
        raise ManifestErrors(list(dict.fromkeys(errors)))
    merged = dict(data)
    chosen = environments.get(environment) if environment else None
    for key, value in (chosen or {}).items():
        if key in ("env", "formation", "scripts") and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return _check(merged, "", sizes, [])


def _check(data: dict, prefix: str, sizes: dict, errors: list[str]) -> Manifest:
    """What `data` declares, its problems added to `errors` (named with `prefix`)."""
    env = {}
    raw_env = data.get("env", {})
    if not isinstance(raw_env, dict):
        errors.append(f"{prefix}env: must be an object")
        raw_env = {}
    for key, value in raw_env.items():
        where = f"{prefix}env.{key}"
        if not CONFIG_KEY.match(key) or key in RESERVED_CONFIG_KEYS:
            errors.append(f"{where}: not a config var name")
        if isinstance(value, (str, int, float, bool)):
            env[key] = EnvVar(value=str(value).lower() if isinstance(value, bool) else str(value))
        elif isinstance(value, dict):
            unknown = set(value) - {"description", "value", "required", "generator"}
            if unknown:
                errors.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
            if "value" in value and not isinstance(value["value"], str):
                errors.append(f"{where}.value: must be a string")
            if not isinstance(value.get("required", True), bool):
                errors.append(f"{where}.required: must be true or false")
            if value.get("generator") not in (None, "secret"):
                errors.append(f'{where}.generator: only "secret" is known')
            if not isinstance(value.get("description", ""), str):
                errors.append(f"{where}.description: must be a string")
            env[key] = EnvVar(value=value.get("value") if isinstance(value.get("value"), str) else None,
                              required=value.get("required", True) is not False, generator=value.get("generator"),
                              description=value.get("description") if isinstance(value.get("description"), str) else "")
        else:
            errors.append(f"{where}: must be a string or an object")
    processes = {}
    raw_formation = data.get("formation", {})
    if not isinstance(raw_formation, dict):
        errors.append(f"{prefix}formation: must be an object")
        raw_formation = {}
    for kind, spec in raw_formation.items():
        where = f"{prefix}formation.{kind}"
        if not isinstance(spec, dict) or set(spec) - {"quantity", "size"}:
            errors.append(f"{where}: must be {{quantity, size}}")
            continue
        quantity = spec.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= formation.MAX_QUANTITY:
            errors.append(f"{where}.quantity: must be a whole number from 0 to {formation.MAX_QUANTITY}")
        wanted = {"quantity": quantity}
        if "size" in spec:
            try:
                wanted["size"] = formation.canonical_size(spec["size"], sizes) if sizes else str(spec["size"])
            except InvalidParams as error:
                errors.append(f"{where}.size: {error.message}")
        processes[kind] = wanted
    addons = []
    raw_addons = data.get("addons", [])
    if not isinstance(raw_addons, list):
        errors.append(f"{prefix}addons: must be a list")
        raw_addons = []
    for index, item in enumerate(raw_addons):
        where = f"{prefix}addons[{index}]"
        spec = {"plan": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or not isinstance(spec.get("plan"), str) or set(spec) - {"plan", "as", "options"}:
            errors.append(f"{where}: must be \"service[:plan]\" or {{plan, as, options}}")
            continue
        try:
            addon_services.find_plan(spec["plan"])
        except InvalidParams as error:
            errors.append(f"{where}.plan: {error.message}")
        if "as" in spec and not (isinstance(spec["as"], str) and CONFIG_KEY.match(spec["as"]) and spec["as"].isupper()):
            errors.append(f"{where}.as: must be an attachment name such as DATABASE")
        if not isinstance(spec.get("options", {}), dict):
            errors.append(f"{where}.options: must be an object")
        addons.append(Addon(spec["plan"], spec.get("as"), spec.get("options") if isinstance(spec.get("options"), dict) else {}))
    buildpacks = []
    raw_buildpacks = data.get("buildpacks", [])
    if not isinstance(raw_buildpacks, list):
        errors.append(f"{prefix}buildpacks: must be a list")
        raw_buildpacks = []
    for index, item in enumerate(raw_buildpacks):
        if isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"]:
            buildpacks.append(item["url"])
        else:
            errors.append(f"{prefix}buildpacks[{index}]: must be {{\"url\": \"...\"}}")
    stack = data.get("stack")
    if stack is not None and (not isinstance(stack, str) or stack not in stacks.STACKS):
        errors.append(f"{prefix}stack: must be one of {', '.join(stacks.STACK_ORDER)}")
    scripts = {}
    raw_scripts = data.get("scripts", {})
    if not isinstance(raw_scripts, dict):
        errors.append(f"{prefix}scripts: must be an object")
        raw_scripts = {}
    for name, command in raw_scripts.items():
        if name not in SCRIPTS:
            errors.append(f"{prefix}scripts.{name}: only {', '.join(SCRIPTS)} are run")
        elif not isinstance(command, str) or not command.strip():
            errors.append(f"{prefix}scripts.{name}: must be a command line")
        else:
            scripts[name] = command
    cron = []
    raw_cron = data.get("cron", [])
    if not isinstance(raw_cron, list):
        errors.append(f"{prefix}cron: must be a list")
        raw_cron = []
    for index, job in enumerate(raw_cron):
        where = f"{prefix}cron[{index}]"
        if not isinstance(job, dict) or set(job) - {"command", "schedule", "size", "concurrency_policy"}:
            errors.append(f"{where}: must be {{command, schedule, size?, concurrency_policy?}}")
            continue
        for check in (lambda: scheduled_jobs.validate_command(job.get("command")),
                      lambda: scheduled_jobs.validate_schedule(job.get("schedule")),
                      lambda: scheduled_jobs.validate_policy(job.get("concurrency_policy", "forbid")),
                      lambda: sizes and formation.canonical_size(job.get("size", formation.DEFAULT_SIZE), sizes)):
            try:
                check()
            except InvalidParams as error:
                errors.append(f"{where}: {error.message}")
        cron.append({key: job[key] for key in ("command", "schedule", "size", "concurrency_policy") if key in job})
    return Manifest(env=env, formation=processes, addons=tuple(addons), buildpacks=tuple(buildpacks), stack=stack,
                    scripts=scripts, cron=tuple(cron))
