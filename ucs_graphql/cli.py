"""The `ucs-graphql` command: serve, migrate, reencrypt, import, export-schema, hash-password."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

from ucs_graphql.config import DEFAULT_CONFIG_FILE, ConfigError, Settings, load_settings

log = logging.getLogger("ucs")

SETTINGS_ENV = "UCS_SETTINGS_OVERRIDES"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", dest="database_url", help="sqlite:///./var/ucs.db or postgresql://user@host:port/db")
    p.add_argument("--config", dest="config_file",
                   help=f"TOML configuration file (default {DEFAULT_CONFIG_FILE} when it exists)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ucs-graphql", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and serve REST and GraphQL")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--log-format", choices=["ucs", "json"], help="log line format (default ucs)")
    # Refused on its own: only the configuration file may open a server without users to the network.
    serve.add_argument("--allow-open-network", action="store_true", default=False, help=argparse.SUPPRESS)
    _common(serve)
    migrate = sub.add_parser("migrate", help="create or migrate the database schema")
    _common(migrate)
    reseal = sub.add_parser("reencrypt", help="migrate, then seal again encrypted values of the first format "
                                              "(bound to nothing) in the current one (the server does it at start)")
    _common(reseal)
    imp = sub.add_parser(
        "import", help="bulk-import a CSV file of customer profiles (maintenance mode)",
        epilog="exit status: 0 all imported or skipped, 1 rows refused or stopped early, 2 the import could not run, "
               "3 the server cannot be reached, 4 not a server URL (or 404), 5 refused by the server (401/403)")
    imp.add_argument("file", help="the CSV file (a header row naming the columns)")
    imp.add_argument("--server", metavar="URL",
                     help="upload to a running server (http://host:port[/base]) instead of writing to --database")
    imp.add_argument("--id-key", help="skip rows that match an existing customer under this identification key")
    imp.add_argument("--delimiter", default=",", help="field separator (default ',')")
    imp.add_argument("--batch-size", type=int, default=64, help="records per committed batch (default 64)")
    imp.add_argument("--max-errors", type=int, help="stop once more rows than this are refused (default: no limit)")
    imp.add_argument("--encoding", default="UTF-8", help="file encoding (default UTF-8)")
    imp.add_argument("--start-from-index", type=int, default=0, help="first record to import (0-based)")
    imp.add_argument("--create-log", action="store_true", help="write FILE.log (JSON lines) beside the file")
    imp.add_argument("--tenant", type=int, default=1, help="X-Genesys-TenantId (default 1)")
    imp.add_argument("--user", help="with --server: HTTP Basic user (password from UCS_PASSWORD or asked)")
    imp.add_argument("--token", help="with --server: API token (or UCS_TOKEN)")
    imp.add_argument("--json", action="store_true", help="print the whole import report (JSON) on stdout")
    _common(imp)
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    hasher = sub.add_parser(
        "hash-password", help="print the hash of a password (read from stdin or asked) for a [[users]] entry")
    hasher.add_argument("--token", metavar="NAME",
                        help="instead, make a new API token called NAME and print it with its [[tokens]] entry")
    hasher.add_argument("--user", default="CHANGE-ME", help="the user a new token acts as (with --token)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    keys = ("host", "port", "workers", "database_url", "config_file", "log_format")
    overrides = {k: getattr(args, k, None) for k in keys}
    return load_settings({k: v for k, v in overrides.items() if v is not None})


def _configure_logging(fmt: str = "ucs") -> None:
    from ucs_graphql.access.redact import install_redaction
    from ucs_graphql.web.logging import configure

    configure(fmt)
    install_redaction()


def hash_password(token_name: str | None, user: str) -> int:
    """Print a password hash, or a new API token with its configuration entry."""
    import getpass
    import secrets

    from ucs_graphql.access.directory import TOKEN_NAME
    from ucs_graphql.access.hashing import hash_secret

    if token_name is not None:
        if not TOKEN_NAME.match(token_name):
            print("ucs-graphql: a token name is 1-64 letters, digits, '-' or '_'", file=sys.stderr)
            return 2
        token = f"{token_name}.{secrets.token_urlsafe(32)}"
        print(f"# The API token (shown once; the client sends 'Authorization: Bearer <token>'):\n{token}\n")
        print(f'[[tokens]]\nname = "{token_name}"\nuser = "{user}"\ntoken_hash = "{hash_secret(token)}"')
        return 0
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("ucs-graphql: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("ucs-graphql: the password is empty", file=sys.stderr)
        return 2
    print(hash_secret(password))
    return 0


def import_file(args: argparse.Namespace) -> int:
    """Run `ucs-graphql import`: on the database, or through a running server; prints a summary."""
    import getpass
    import json
    from pathlib import Path

    from ucs_graphql.imports import client

    path = Path(args.file)
    if not path.is_file():
        print(f"ucs-graphql: {args.file} is not a file", file=sys.stderr)
        return 2
    body = client.description(args)
    server = args.server or (args.database_url if (args.database_url or "").startswith(("http://", "https://"))
                             else None)
    if server:
        token = args.token or os.environ.get("UCS_TOKEN")
        auth = f"Bearer {token}" if token else None
        if args.user:
            auth = client.basic(args.user, os.environ.get("UCS_PASSWORD") or getpass.getpass("Password: "))
        try:
            status, report = client.run_remote(server, path, body, args.tenant, auth)
        except client.BadUrl as err:
            print(f"ucs-graphql: {err}", file=sys.stderr)
            return client.BAD_URL
        except client.Unreachable as err:
            print(f"ucs-graphql: {err}", file=sys.stderr)
            return client.UNREACHABLE
        if status != 200:
            reason = report.get("description", report) if isinstance(report, dict) else report
            print(f"ucs-graphql: the server answered {status}: {reason}", file=sys.stderr)
            if status in (401, 403):
                return client.DENIED
            if status == 404:
                print(f"ucs-graphql: no bulk import at {server}: check the URL (and the server's base path)",
                      file=sys.stderr)
                return client.BAD_URL
            return client.FAILED
    else:
        from ucs_graphql.kit.errors import UcsError

        try:
            with path.open("rb") as raw:
                report = asyncio.run(client.run_direct(_settings(args), path.resolve(), raw, path.stat().st_size,
                                                       body, args.tenant))
        except UcsError as err:
            print(f"\nucs-graphql: {err.description}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    return client.summary(report, sys.stderr)


def reencrypt(settings: Settings) -> int:
    """Run `ucs-graphql reencrypt`: 0 when every value is of the current format, 1 when some cannot be
    decrypted (left as they were, listed in the log)."""
    from ucs_graphql.crypto.keyring import reencrypt_database
    from ucs_graphql.db.migrate import upgrade

    asyncio.run(upgrade(settings.database_url))
    done = asyncio.run(reencrypt_database(settings))
    print(f"{done.converted} encrypted values sealed again in {done.rows} rows; "
          f"{done.unreadable} cannot be decrypted (left as they were; the log names them)")
    return 1 if done.unreadable else 0


def app_factory() -> Any:
    """Uvicorn factory for worker processes: settings come from the parent through the environment."""
    import json

    from ucs_graphql.web.app import create_app

    overrides = json.loads(os.environ.get(SETTINGS_ENV, "{}"))
    settings = load_settings(overrides)
    _configure_logging(settings.log_format)
    return create_app(settings, settle_heap=True)


def _drained(_signum: int, _frame: Any) -> None:
    log.info("ucs-graphql stopped on SIGTERM after finishing in-flight requests")


def serve(settings: Settings) -> None:
    """Migrate, then run uvicorn (SIGTERM and SIGINT shut down cleanly, finishing in-flight requests)."""
    import json

    import uvicorn

    from ucs_graphql.access.directory import build_directory
    from ucs_graphql.access.exposure import check_exposure
    from ucs_graphql.db.migrate import upgrade
    from ucs_graphql.web.protocol import LIMITS_ENV, HeadLimits

    _configure_logging(settings.log_format)
    check_exposure(settings, build_directory(settings.roles, settings.users, settings.tokens).open)
    asyncio.run(upgrade(settings.database_url))
    log.info("ucs-graphql listening on http://%s:%d (database %s, configuration %s)", settings.host, settings.port,
             settings.database_url.split("@")[-1], settings.config_file or "none")
    for handler in logging.getLogger().handlers:  # the start line is out before uvicorn takes over (or fails)
        handler.flush()
    overrides = {"host": settings.host, "port": settings.port, "workers": settings.workers,
                 "database_url": settings.database_url, "config_file": settings.config_file,
                 "log_format": settings.log_format}
    os.environ[SETTINGS_ENV] = json.dumps(overrides)
    os.environ[LIMITS_ENV] = HeadLimits.of(settings).encode()
    # uvicorn drains, then raises again the signal it stopped on; after a SIGTERM drain the exit status is 0.
    signal.signal(signal.SIGTERM, _drained)
    uvicorn.run(
        "ucs_graphql.cli:app_factory", factory=True, host=settings.host, port=settings.port,
        workers=settings.workers, access_log=False, log_level="info", log_config=None, lifespan="on",
        http="ucs_graphql.web.protocol:GuardedHttpProtocol",
        # X-Forwarded-For and -Proto are believed from the configured proxies only (none by default).
        proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=list(settings.trusted_proxies),
        timeout_graceful_shutdown=settings.drain_seconds,  # type: ignore[arg-type]
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        if args.command == "export-schema":
            from ucs_graphql.graphql.schema import sdl

            sys.stdout.write(sdl())
            return 0
        if args.command == "hash-password":
            return hash_password(args.token, args.user)
        settings = _settings(args)
        if args.command == "import":
            return import_file(args)
        if args.command == "migrate":
            from ucs_graphql.db.migrate import upgrade

            asyncio.run(upgrade(settings.database_url))
            print(f"database {settings.database_url.split('@')[-1]} is at the newest schema")
            return 0
        if args.command == "reencrypt":
            return reencrypt(settings)
        if args.allow_open_network and not settings.allow_open_network:
            raise ConfigError(
                "--allow-open-network alone does not open the server: a server without users listens on the "
                "network only when its configuration file says allow_open_network = true under [security] "
                "(docs/access.md)")
        serve(settings)
        return 0
    except ConfigError as err:
        print(f"ucs-graphql: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
