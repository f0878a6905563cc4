"""Heroku's rendezvous, so that the Heroku CLI's `heroku run` attaches to one-off dynos here.

The client opens TLS to the attach URL's host and port (`rendezvous://host:port/<path>`),
writes the URL's path and query (without the leading `/`) and CRLF, and reads one line back;
from then on the connection carries the process's stdin and output as raw bytes. A client
without a terminal ends its input with Ctrl-D (0x04). The last line is Heroku's exit status
marker, which the CLI takes for the process's exit code; then the connection closes.

The attach URL is signed like the WebSocket's (`/dynos/<run>/attach`), and the certificate is
either the operator's or one made here for the API's host by a CA of the platform's own
(`$PAAS_HOME/rendezvous-ca.crt`: give it to the Heroku CLI as NODE_EXTRA_CA_CERTS).
"""

import asyncio
import logging
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from paas import certificates
from paas.platform.attach import relay, run_grant
from paas.settings import Settings

log = logging.getLogger(__name__)

ATTACH = re.compile(r"/dynos/(?P<run>[0-9a-f-]{36})/attach")
EXIT_MARKER = "\uffff heroku-command-exit-status: {}\n"  # what the Heroku CLI reads the exit code from
HELLO_TIMEOUT = 10.0  # seconds for the client to say which run it attaches to
END_OF_INPUT = b"\x04"


def attach_url(settings: Settings, signed_path: str, tty: bool) -> str:
    return f"rendezvous://{settings.api_host}:{settings.rendezvous_port}{signed_path}&tty={int(tty)}"


class Rendezvous:
    def __init__(self, platform):
        self.platform = platform
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        settings = self.platform.settings
        if not settings.rendezvous_port:
            return
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate(settings))
        try:
            self.server = await asyncio.start_server(self.serve, settings.api_host, settings.rendezvous_port, ssl=context)
        except OSError as error:  # another API on this machine has it: the API works, `heroku run` does not attach here
            log.error("the rendezvous port %s:%s is not free (%s): `heroku run` cannot attach to this API",
                      settings.api_host, settings.rendezvous_port, error)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(reader.readuntil(b"\r\n"), HELLO_TIMEOUT)
            url = urlsplit("/" + hello.decode("ascii").strip())
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, UnicodeDecodeError,
                ValueError, ConnectionError, ssl.SSLError):
            writer.close()
            return
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        found = ATTACH.fullmatch(url.path)
        signed = found and self.platform.signer.valid("GET", url.path, query.get("signature"), query.get("expires"))
        allowed = await run_grant(self.platform, found["run"]) if signed else None  # the token that asked still may
        if allowed is None:
            writer.write(b"no such run (the URL is not signed or expired, or its user may no longer run it)\r\n")
            await close(writer)
            return
        tty = query.get("tty") == "1"
        writer.write(b"rendezvous\r\n")  # the line the client reads before it sends its input

        async def output(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        async def exited(status: int, message: str) -> None:
            if message:
                writer.write(f"\r\n{message}\r\n".encode())
            writer.write(EXIT_MARKER.format(status).encode())

        async def inputs() -> AsyncIterator[bytes | None]:
            try:
                while data := await reader.read(65536):
                    # A terminal's Ctrl-D is the terminal's to read; without one it ends the input.
                    if not tty and data.endswith(END_OF_INPUT):
                        yield data[:-1]
                        yield None
                    else:
                        yield data
            except (ConnectionError, ssl.SSLError):
                pass

        try:
            await relay(self.platform.async_redis, found["run"], output, exited, inputs(), allowed)
        except (ConnectionError, ssl.SSLError):
            pass  # the client went away: the run was hung up
        await close(writer)


async def close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, ssl.SSLError):
        pass


def certificate(settings: Settings) -> tuple[Path, Path]:
    """The certificate and key files to serve: the operator's, else ours (made, or renewed
    before they expire, for the API's host and localhost)."""
    if settings.rendezvous_cert and settings.rendezvous_key:
        return settings.rendezvous_cert, settings.rendezvous_key
    folder = settings.home / "rendezvous"
    return certificates.server_certificate(folder, settings.rendezvous_ca_file, [settings.api_host, "localhost"])
