"""`torc-htpasswd`: manage the bcrypt htpasswd file torc-server --auth-file reads.

A password is read from a prompt on a terminal, else the first line of standard input
(`--password` works too, as in Torc, but it shows in `ps`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from pytorc.server.auth import AuthFileError, read_htpasswd

EXAMPLES = """examples:
  torc-htpasswd add --file /etc/torc/htpasswd alice          # prompts for the password
  printf '%s\\n' "$PW" | torc-htpasswd add --file users alice   # from a script
  torc-htpasswd hash > my-entry.txt                          # a line to send to your admin
  torc-htpasswd verify --file users alice
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="torc-htpasswd",
        description=__doc__.splitlines()[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user, or change a user's password")
    hash_ = commands.add_parser("hash", help="print a `user:hash` line (default user $USER)")
    remove = commands.add_parser("remove", help="remove a user")
    listing = commands.add_parser("list", help="list the users")
    verify = commands.add_parser("verify", help="check a user's password (exit 1 if wrong)")
    for sub in (add, remove, listing, verify):
        sub.add_argument("-f", "--file", type=Path, required=True, help="the htpasswd file")
    for sub in (add, remove, verify):
        sub.add_argument("username")
    hash_.add_argument(
        "username", nargs="?", default=os.environ.get("USER") or os.environ.get("USERNAME")
    )
    for sub in (add, hash_, verify):
        sub.add_argument(
            "-p",
            "--password",
            help="the password (visible in ps; prefer the prompt or standard input)",
        )
    for sub in (add, hash_):
        sub.add_argument(
            "-c",
            "--cost",
            type=int,
            default=12,
            choices=range(4, 32),
            metavar="4-31",
            help="bcrypt cost (default 12: ~0.3 s per check)",
        )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        raise SystemExit(_run(args))
    except (AuthFileError, ValueError) as exc:
        print(f"torc-htpasswd: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for user in read_htpasswd(args.file):
            print(user)
        return 0
    if args.command == "hash":
        if not args.username:
            raise ValueError("no user name: give one (or set $USER)")
        print(f"{args.username}:{hash_password(_password(args), args.cost)}")
        return 0
    users = _read(args.file) if args.command == "add" else read_htpasswd(args.file)
    _check_name(args.username)
    if args.command == "verify":
        import bcrypt

        hashed = users.get(args.username)
        good = hashed is not None and bcrypt.checkpw(_password(args).encode(), hashed)
        print("correct" if good else "wrong user or password")
        return 0 if good else 1
    if args.command == "remove":
        if users.pop(args.username, None) is None:
            raise ValueError(f"no user {args.username!r} in {args.file}")
    else:
        users[args.username] = hash_password(_password(args), args.cost).encode()
    _write(args.file, users)
    print(
        f"{'removed' if args.command == 'remove' else 'saved'} {args.username} in {args.file}",
        file=sys.stderr,
    )
    return 0


def hash_password(password: str, cost: int = 12) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        password: str = args.password
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise ValueError("empty password")
    return password


def _check_name(user: str) -> None:
    if not user or ":" in user or any(c.isspace() for c in user):
        raise ValueError(f"user name {user!r}: no colons or spaces")


def _read(path: Path) -> dict[str, bytes]:
    return read_htpasswd(path) if path.exists() else {}


def _write(path: Path, users: dict[str, bytes]) -> None:
    """Replace the file whole (via a temporary file), readable only by its owner."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{user}:{hashed.decode()}\n" for user, hashed in users.items())
    os.replace(temporary, path)
