"""`paas pipelines*`: apps of one code base by stage, and promotions down the stages with no build."""

import time
from typing import Annotated

import typer

from paas.cli.client import Api, fail
from paas.cli.common import AppOpt, JsonOpt, app, print_json, print_table, resolve_app, segment, working

STAGES = ("test", "review", "development", "staging", "production")
PROMOTION_ORDER = ("development", "staging", "production")
PipelineArg = Annotated[str, typer.Argument(help="The pipeline's name or id.")]
StageOpt = Annotated[str, typer.Option("--stage", "-s", help=f"The app's stage: {', '.join(STAGES)}.")]
PROMOTION_WAIT = 600  # seconds: each target's release boots (and runs its release phase) first


@app.command("pipelines")
def pipelines_list(as_json: JsonOpt = False):
    """List the pipelines you see."""
    pipelines = Api().get("/pipelines")
    if as_json:
        return print_json(pipelines)
    typer.echo("=== My Pipelines")
    for pipeline in pipelines:
        typer.echo(pipeline["name"])


@app.command("pipelines:create")
def pipelines_create(name: Annotated[str, typer.Argument(help="The new pipeline's name.")], stage: StageOpt,
                     app_name: AppOpt = None,
                     team: Annotated[str | None, typer.Option("--team", "-t", help="Make it the team's.")] = None):
    """Make a pipeline and add the app to it.  Example: paas pipelines:create shop -a shop-staging -s staging"""
    app_ = resolve_app(app_name)
    api = Api()
    owner = {"id": api.get(f"/teams/{segment(team)}")["id"], "type": "team"} if team else {"id": api.get("/account")["id"], "type": "user"}
    with working(f"Creating {name} pipeline"):
        pipeline = api.post("/pipelines", {"name": name, "owner": owner})
    with working(f"Adding {app_} to {name} pipeline as {stage}"):
        api.post("/pipeline-couplings", {"app": app_, "pipeline": pipeline["id"], "stage": stage})


@app.command("pipelines:add")
def pipelines_add(pipeline: PipelineArg, stage: StageOpt, app_name: AppOpt = None):
    """Add the app to a pipeline.  Example: paas pipelines:add shop -a shop-prod -s production"""
    app_ = resolve_app(app_name)
    with working(f"Adding {app_} to {pipeline} pipeline as {stage}"):
        Api().post("/pipeline-couplings", {"app": app_, "pipeline": pipeline, "stage": stage})


@app.command("pipelines:info")
def pipelines_info(pipeline: PipelineArg, as_json: JsonOpt = False):
    """Show a pipeline's apps by stage."""
    api = Api()
    found = api.get(f"/pipelines/{segment(pipeline)}")
    couplings = api.get(f"/pipelines/{found['id']}/pipeline-couplings")
    if as_json:
        return print_json({"pipeline": found, "couplings": couplings})
    typer.echo(f"=== {found['name']}")
    rows = sorted(couplings, key=lambda c: (STAGES.index(c["stage"]), c["app"]["name"]))
    print_table(("App name", "Stage"), [(c["app"]["name"], c["stage"]) for c in rows])


@app.command("pipelines:remove")
def pipelines_remove(app_name: AppOpt = None):
    """Take the app out of its pipeline."""
    app_ = resolve_app(app_name)
    with working(f"Removing {app_}"):
        api = Api()
        api.delete(f"/pipeline-couplings/{api.get(f'/apps/{segment(app_)}/pipeline-couplings')['id']}")


@app.command("pipelines:destroy")
def pipelines_destroy(pipeline: PipelineArg):
    """Delete a pipeline (its apps stay)."""
    with working(f"Destroying {pipeline} pipeline"):
        Api().delete(f"/pipelines/{segment(pipeline)}")


def version_of(api: Api, target: dict) -> str:
    if not target["release"]:
        return ""
    release = api.get(f"/apps/{target['app']['id']}/releases/{target['release']['id']}")
    return f"v{release['version']}"


@app.command("pipelines:promote")
def pipelines_promote(app_name: AppOpt = None,
                      to: Annotated[str | None, typer.Option("--to", "-t", help="Target apps, comma-separated (default: the next stage's).")] = None):
    """Copy the app's current release into the next stage's apps (or those given), each as a new
    release with its own config: nothing is built again.  Example: paas pipelines:promote -a shop-staging"""
    app_ = resolve_app(app_name)
    api = Api()
    coupling = api.get(f"/apps/{segment(app_)}/pipeline-couplings")
    couplings = api.get(f"/pipelines/{coupling['pipeline']['id']}/pipeline-couplings")
    names = {c["app"]["id"]: c["app"]["name"] for c in couplings}
    if to:
        wanted = [name.strip() for name in to.split(",") if name.strip()]
        targets = [c for c in couplings if c["app"]["name"] in wanted or c["app"]["id"] in wanted]
        missing = set(wanted) - {c["app"]["name"] for c in targets} - {c["app"]["id"] for c in targets}
        if missing:
            fail(f"Not in pipeline {coupling['pipeline']['name']}: {', '.join(sorted(missing))}.")
    else:
        stage = coupling["stage"]
        if stage not in PROMOTION_ORDER[:-1]:
            fail(f"Cannot promote {app_} from its {stage} stage: give the targets with --to.")
        following = PROMOTION_ORDER[PROMOTION_ORDER.index(stage) + 1]
        targets = [c for c in couplings if c["stage"] == following]
        if not targets:
            fail(f"Cannot promote from {app_}: pipeline {coupling['pipeline']['name']} has no app at the {following} stage.")
    with working(f"Promoting {app_} to {', '.join(c['app']['name'] for c in targets)}"):
        promotion = api.post("/pipeline-promotions", {
            "pipeline": {"id": coupling["pipeline"]["id"]}, "source": {"app": {"id": coupling["app"]["id"]}},
            "targets": [{"app": {"id": c["app"]["id"]}} for c in targets]})
        deadline = time.monotonic() + PROMOTION_WAIT
        while (outcome := api.get(f"/pipeline-promotions/{promotion['id']}/promotion-targets")) and \
                any(t["status"] == "pending" for t in outcome) and time.monotonic() < deadline:
            time.sleep(0.2)
    print_table(("App", "Status", "Release", ""), [
        (names.get(t["app"]["id"], t["app"]["id"]), t["status"], version_of(api, t), t["error_message"] or "") for t in outcome])
    if any(t["status"] != "succeeded" for t in outcome):
        fail("Promotion to some apps did not succeed.")
