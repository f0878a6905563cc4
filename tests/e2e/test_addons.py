"""Add-ons end to end: real Postgres and Redis servers in containers, an app that uses them
through DATABASE_URL (with sslmode=require) and REDIS_URL, and what other apps can reach."""

import secrets
from urllib.parse import quote, urlsplit

import docker.errors
import pytest

from tests.e2e.conftest import eventually, platform

pytestmark = pytest.mark.e2e


def answer(router, app: str, path: str) -> dict | None:
    response = router.get(app, path)
    try:
        return response.json() if response.status_code == 200 else None
    except ValueError:
        return None


def config(api, app: str) -> dict:
    return api.get(f"/apps/{app}/config-vars").json()


def reaches(router, app: str, url: str) -> dict:
    found = answer(router, app, f"/probe?url={quote(url, safe='')}")
    assert found is not None, f"{app} did not answer its probe"
    return found


def live(checkout) -> None:
    result = checkout.push()
    assert result.returncode == 0, result.stderr


def latest_version(api, app: str) -> int:
    return api.get(f"/apps/{app}/releases", headers={"Range": "version ..; max=1, order=desc"}).json()[0]["version"]


def server(engine, settings, addon: dict):
    return engine.containers.get(f"{settings.instance}-addon-{addon['name']}")


def restart_platform(settings) -> None:
    for step in ("down", "up"):
        platform(settings, step)


def test_postgres_and_redis_keep_data_and_only_attached_apps_reach_them(api, router, new_app, engine, settings):
    name, checkout = new_app("backing")
    live(checkout)
    made = api.post(f"/apps/{name}/addons", json={"plan": "heroku-postgresql"})
    assert made.status_code == 201, made.text
    pg = made.json()
    assert (pg["addon_service"]["name"], pg["plan"]["name"], pg["state"]) == ("postgresql", "postgresql:basic", "provisioned")
    assert pg["config_vars"] == ["DATABASE_URL"]
    rd = api.post(f"/apps/{name}/addons", json={"plan": "redis"}).json()
    assert rd["config_vars"] == ["REDIS_URL"] and config(api, name)["REDIS_URL"].startswith("redis://")
    database_url = config(api, name)["DATABASE_URL"]
    assert database_url.startswith("postgres://")

    # The running app rolls out to the release with both URLs; Postgres is reached over TLS.
    eventually(lambda: answer(router, name, "/redis/incr"), what="the app using REDIS_URL")
    assert answer(router, name, "/db/write?v=alpha") == {"written": "alpha"}
    assert answer(router, name, "/db/read") == {"rows": ["alpha"], "ssl": True}
    assert answer(router, name, "/redis/incr")["count"] == 2
    # Redis over TLS, as Heroku's: rediss://, and plain connections are refused.
    secure = api.post(f"/apps/{name}/addons", json={"plan": "redis", "config": {"tls": True}, "attachment": {"name": "SECURE_REDIS"}})
    assert secure.status_code == 201, secure.text
    secure_url = config(api, name)["SECURE_REDIS_URL"]
    assert secure_url.startswith("rediss://")
    assert eventually(lambda: answer(router, name, "/redis/incr?var=SECURE_REDIS_URL"), what="Redis over TLS")["count"] == 1
    assert reaches(router, name, secure_url.replace("rediss://", "redis://"))["reached"] is False

    # A redeploy, a restart of both servers and a platform restart lose nothing.
    checkout.write("VERSION", "2\n")
    checkout.commit("v2")
    live(checkout)
    assert answer(router, name, "/db/read")["rows"] == ["alpha"]
    for addon in (pg, rd):
        server(engine, settings, addon).restart(timeout=10)
    assert eventually(lambda: answer(router, name, "/db/read"), what="Postgres back")["rows"] == ["alpha"]
    assert eventually(lambda: answer(router, name, "/redis/incr"), what="Redis back")["count"] == 3
    restart_platform(settings)
    assert answer(router, name, "/db/read")["rows"] == ["alpha"]
    assert answer(router, name, "/redis/incr")["count"] == 4

    # A second app attached to the same database sees its rows; a third, unattached app
    # reaches neither server, with the first app's credentials, by name or by address.
    other, other_checkout = new_app("backing")
    live(other_checkout)
    stranger, stranger_checkout = new_app("backing")
    live(stranger_checkout)
    attached = api.post("/addon-attachments", json={"addon": pg["name"], "app": other})
    assert attached.status_code == 201, attached.text
    assert attached.json()["name"] == "DATABASE" and config(api, other)["DATABASE_URL"] == database_url
    assert eventually(lambda: answer(router, other, "/db/read"), what="the second app reading")["rows"] == ["alpha"]
    redis_url = config(api, name)["REDIS_URL"]
    for url in (database_url, redis_url):
        address = server(engine, settings, pg if url == database_url else rd).attrs["NetworkSettings"]["Networks"]
        ips = [n["IPAddress"] for n in address.values()]
        for target in [url] + [url.replace(urlsplit(url).hostname, ip) for ip in ips]:
            probe = reaches(router, stranger, target)
            assert probe["reached"] is False, (target, probe)
    assert reaches(router, other, redis_url)["reached"] is False  # attached to the database only

    # Rotating the credentials: a new password in a new release of both apps; the old one is refused.
    rotated = api.post(f"/apps/{name}/addons/{pg['name']}/actions/credentials-rotate")
    assert rotated.status_code == 200, rotated.text
    new_url = config(api, name)["DATABASE_URL"]
    assert new_url != database_url and config(api, other)["DATABASE_URL"] == new_url
    assert "rotating credentials" in api.get(f"/apps/{other}/releases").json()[-1]["description"]
    assert reaches(router, other, database_url)["reached"] is False
    eventually(lambda: answer(router, other, "/env") == {"DATABASE_URL": new_url}, what="the rotated URL live")
    assert answer(router, other, "/db/read")["rows"] == ["alpha"]

    # Detaching removes the var and the access.
    attachment = next(a for a in api.get(f"/apps/{other}/addon-attachments").json() if a["addon"]["name"] == pg["name"])
    assert api.delete(f"/addon-attachments/{attachment['id']}").status_code == 200
    assert "DATABASE_URL" not in config(api, other)
    eventually(lambda: answer(router, other, "/env") == {}, what="the detached app's release")
    assert reaches(router, other, new_url)["reached"] is False

    # A rollback to before the add-ons keeps their vars as they are now.
    api.post(f"/apps/{name}/releases", json={"release": 2}).raise_for_status()
    assert config(api, name)["DATABASE_URL"] == new_url
    eventually(lambda: answer(router, name, "/") == {"ok": True, "release": f"v{latest_version(api, name)}"}, what="the rollback live")
    assert answer(router, name, "/db/read")["rows"] == ["alpha"]

    # Destroying deletes the server and its data, and the var.
    volume = f"{settings.instance}-addon-{pg['name']}"
    assert api.delete(f"/apps/{name}/addons/{pg['name']}").json()["state"] == "deprovisioned"
    assert "DATABASE_URL" not in config(api, name)
    eventually(lambda: not engine.volumes.list(filters={"name": volume}), what="the database's volume removed")
    assert not engine.containers.list(all=True, filters={"name": f"{settings.instance}-addon-{pg['name']}"})


def test_external_addons_and_bad_requests(api, app_name):
    bad = api.post(f"/apps/{app_name}/addons", json={"plan": "mysql"})
    assert bad.status_code == 422 and "mysql" in bad.json()["message"]
    assert api.post(f"/apps/{app_name}/addons", json={"plan": "redis:huge"}).status_code == 422
    nameless = api.post(f"/apps/{app_name}/addons", json={"plan": "external", "config": {"url": "https://x.example"}})
    assert nameless.status_code == 422
    assert api.post(f"/apps/{app_name}/addons", json={"plan": "external", "attachment": {"name": "MAIL"}, "config": {"url": "no url"}}).status_code == 422
    made = api.post(f"/apps/{app_name}/addons", json={"plan": "external", "attachment": {"name": "mailer"}, "config": {"url": "smtp://u:p@mail.example:25"}})
    assert made.status_code == 201 and made.json()["config_vars"] == ["MAILER_URL"]
    assert config(api, app_name) == {"MAILER_URL": "smtp://u:p@mail.example:25"}
    owned = api.patch(f"/apps/{app_name}/config-vars", json={"MAILER_URL": "x"})
    assert owned.status_code == 422 and "add-on" in owned.json()["message"]
    again = api.post(f"/apps/{app_name}/addons", json={"plan": "external", "attachment": {"name": "MAILER"}, "config": {"url": "https://y.example"}})
    assert again.status_code == 422
    assert [a["name"] for a in api.get(f"/apps/{app_name}/addons").json()] == [made.json()["name"]]
    assert api.get("/addons/no-such-addon").status_code == 404


# Every process of a container, as the kernel tells each: "<uid fields> <CapEff> <NoNewPrivs>" a line.
PROCESSES = "for s in /proc/[0-9]*/status; do grep -E '^(Uid|CapEff|NoNewPrivs):' $s | cut -f2- | tr '\\n\\t' '  '; echo; done"


def processes(output: bytes) -> list[tuple[list[int], int, int]]:
    """(uids: real, effective, saved, fs; effective capabilities; no_new_privs) of each process."""
    found = []
    for line in output.decode().splitlines():
        fields = line.split()
        if len(fields) == 6:
            found.append(([int(f) for f in fields[:4]], int(fields[4], 16), int(fields[5])))
    return found


def test_addon_servers_run_as_their_own_user_with_no_capabilities(api, app_name, engine, settings):
    for plan, user in (("postgresql", "postgres"), ("redis", "redis")):
        made = api.post(f"/apps/{app_name}/addons", json={"plan": plan})
        assert made.status_code == 201, made.text
        container = server(engine, settings, made.json())
        host = container.attrs["HostConfig"]
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], host
        assert "no-new-privileges" in host["SecurityOpt"], host["SecurityOpt"]
        assert container.attrs["Config"]["User"] == user
        inside = processes(container.exec_run(["sh", "-c", PROCESSES]).output)
        assert len(inside) >= 2, inside  # docker's init as PID 1 and the server, at least
        for uids, capabilities, no_new_privs in inside:
            assert 0 not in uids and capabilities == 0 and no_new_privs == 1, (plan, inside)
        # Positive control: the same probe in the same image, run with Docker's defaults as root.
        control = processes(engine.containers.run(container.image.id, ["-c", PROCESSES], entrypoint=["sh"], user="root", remove=True))
        assert control and all(uids == [0, 0, 0, 0] and capabilities != 0 and not no_new_privs for uids, capabilities, no_new_privs in control), control


def test_postgres_addons_take_only_tls_and_their_role_is_no_superuser(api, app_name, engine, settings):
    made = api.post(f"/apps/{app_name}/addons", json={"plan": "postgresql"})
    assert made.status_code == 201, made.text
    url = config(api, app_name)["DATABASE_URL"]
    parts = urlsplit(url)
    pg = server(engine, settings, made.json())
    # A client on a network of the test's own, beside the server (joined under its URL's host name).
    network = engine.networks.create(f"{settings.instance}-test-pg-{secrets.token_hex(4)}", internal=True)
    try:
        network.connect(pg, aliases=[parts.hostname])

        def psql(sslmode: str, sql: str) -> str:
            try:
                return engine.containers.run(pg.image.id, [f"{url}?sslmode={sslmode}&connect_timeout=5", "-tAc", sql],
                                             entrypoint=["psql"], network=network.name, remove=True).decode().strip()
            except docker.errors.ContainerError as error:
                return f"refused: {error.stderr.decode().strip()}"

        told = psql("disable", "SELECT 1")
        assert "no pg_hba.conf entry for host" in told and "no encryption" in told, told
        assert f'user "{parts.username}"' in told, told
        # Positive control: the same client, URL and query over TLS; then who the role is.
        assert psql("require", "SELECT 1") == "1"
        assert psql("require", "SELECT rolsuper, rolcreaterole, ssl FROM pg_roles, pg_stat_ssl "
                               "WHERE rolname = current_user AND pid = pg_backend_pid()") == "f|f|t"
    finally:
        network.disconnect(pg, force=True)
        network.remove()
