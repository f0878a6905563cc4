"""HTTPS on the default domain: certificates from the router's own CA (its root exported under
PAAS_HOME), and an app that redirects plain HTTP to HTTPS by X-Forwarded-Proto, as Django's
SECURE_SSL_REDIRECT does."""

import ssl

import httpx
import pytest

pytestmark = pytest.mark.e2e

REDIRECTING = '''
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("X-Forwarded-Proto") != "https":
            self.send_response(301)
            self.send_header("Location", "https://" + self.headers["Host"].split(":")[0] + ":8443" + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = ("secure " + self.headers.get("X-Forwarded-Port", "") + " " + self.headers.get("X-Request-Id", "")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
'''


def https_get(settings, host: str, path: str = "/", cafile=None) -> httpx.Response:
    """Through the router's TLS port on 127.0.0.1, with the app's host name in SNI and checked
    against the certificate, trusting only the CA that paas exported (or `cafile`)."""
    context = ssl.create_default_context(cafile=str(cafile or settings.router_ca_file))
    with httpx.Client(verify=context, timeout=15) as client:
        request = client.build_request("GET", f"https://127.0.0.1:{settings.router_tls_port}{path}", headers={"Host": host},
                                       extensions={"sni_hostname": host})
        return client.send(request)


def test_an_app_answers_https_with_the_exported_ca_and_its_redirect_to_https_works(checkout, app_name, router, settings):
    checkout.write("server.py", REDIRECTING)
    checkout.commit("redirect to https")
    assert checkout.push().returncode == 0
    host = settings.app_host(app_name)
    plain = router.get(app_name)
    assert plain.status_code == 301 and plain.headers["Location"] == f"https://{app_name}.{settings.domain}:8443/"
    secure = https_get(settings, host)
    assert secure.status_code == 200 and secure.text.startswith(f"secure {settings.router_tls_port} ")
    with pytest.raises(httpx.ConnectError):  # no certificate for a host that is no app's
        https_get(settings, f"no-such-app-{app_name}.{settings.domain}")
