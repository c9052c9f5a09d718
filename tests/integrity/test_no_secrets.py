"""No committed secrets: every file git tracks is scanned for keys, tokens and literal passwords.

Secrets belong in ``.env`` (never committed), Airflow connections and Variables; a file in the
repository that holds one has leaked it to everyone who can clone. The detector is tested on planted
samples (built by concatenation, so that this file does not hold them itself).
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT

SECRETS: dict[str, re.Pattern[str]] = {
    "private key block": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?[^\s\"',)]{30,}"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"),
    "GitHub token": re.compile(r"\bghp_[A-Za-z0-9]{36}\b"),
}
PASSWORD = re.compile(r"(?i)password\s*[:=]\s*([\"']?)([^\s\"'$]{8,})")

# What a password value may be without being a secret, each with why. Kept small on purpose:
#: ``${VAR}``, ``${VAR:?message}``: environment references, removed before matching (Compose and
#: the shell scripts read every secret from .env this way; .env.example leaves them empty).
ENV_REFERENCE = re.compile(r"\$\{[^}]*\}")
#: Python code passing a password along, unquoted: ``conn.password``, ``os.environ[...]``,
#: ``password=password)`` (a bare name counts only when code punctuation follows it, so that an
#: unquoted literal in a YAML or .env file is still caught).
CODE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+[\[(),]?.*|[A-Za-z_]\w*[\[(),].*")
#: The name of a variable that holds the password, e.g. psql's ``PASSWORD :'airflow_password'``.
VARIABLE_NAME = re.compile(r"[a-z_]*password[a-z_]*")
#: Template substitutions: f-strings and str.format (``{password}``), Jinja (``{{ var.value.x }}``).
TEMPLATE = re.compile(r"\{.*")
#: Obvious placeholders in examples.
PLACEHOLDER = re.compile(r"(?i)changeme|<[^>]*>")


def find_secrets(text: str) -> list[str]:
    """``line N: kind`` for each secret-looking string in ``text`` (the value itself is not repeated)."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        found += [f"line {n}: {kind}" for kind, rx in SECRETS.items() if rx.search(line)]
        for m in PASSWORD.finditer(ENV_REFERENCE.sub("", line)):
            quoted, value = m.group(1), m.group(2)
            allowed = (
                (not quoted and CODE.fullmatch(value))
                or VARIABLE_NAME.fullmatch(value)
                or TEMPLATE.match(value)
                or PLACEHOLDER.fullmatch(value)
            )
            if not allowed:
                found.append(f"line {n}: literal password")
    return found


#: Third-party libraries shipped unmodified (minified jQuery matches ``password:`` in its own
#: selector code). Only their scripts, stylesheets, fonts and licences may live there.
VENDORED = "plugins/airflow_mlops/plugin/static/vendor/"


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def test_no_tracked_file_holds_a_secret() -> None:
    files = tracked_files()
    assert len(files) > 50 and "README.md" in files and ".env.example" in files
    problems = []
    vendored = [f for f in files if f.startswith(VENDORED)]
    assert vendored and all(f.endswith((".min.js", ".min.css", ".woff2", "/LICENSES.md")) for f in vendored)
    for rel in files:
        if rel.startswith(VENDORED) and rel.endswith((".min.js", ".min.css")):
            continue
        path = ROOT / rel
        if not path.is_file():  # deleted in the work tree, not yet in the index
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        problems += [f"{rel}: {f}" for f in find_secrets(data.decode("utf-8", errors="replace"))]
    assert problems == [], "\n".join(problems)


PLANTED = {
    "private key block": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow...",
    "AWS access key id": "aws_access_key_id = " + "AKIA" + "Q3EGX7ZV2MKJ4WPN",
    "AWS secret access key": "aws_secret_access_key=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "zq4Lmn",
    "Slack token": "SLACK=" + "xoxb-" + "2048-1234567890-abcdefABCDEF",
    "GitHub token": "token: " + "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "literal password (YAML)": "  pass" + "word: hunter2hunter2",
    "literal password (env)": "POSTGRES_PASS" + "WORD=Sup3rS3cretValue",
    "literal password (Python)": 'connect(user="app", pass' + 'word="Tr0ub4dor&3")',
    "literal password (URL query)": "dsn?pass" + "word=correcthorse",
}


@pytest.mark.parametrize("sample", PLANTED.values(), ids=PLANTED.keys())
def test_the_detector_catches_a_planted_secret(sample: str) -> None:
    assert len(find_secrets("first line\n" + sample)) == 1
    assert find_secrets("first line\n" + sample)[0].startswith("line 2: ")


ALLOWED = {
    "environment reference": "POSTGRES_PASS" + "WORD: ${POSTGRES_PASS" + "WORD:?set it in .env}",
    "empty in .env.example": "AIRFLOW_DB_PASS" + "WORD=",
    "code passing it on": "client.create_user(username=name, pass" + "word=password)",
    "attribute": "pass" + "word=conn.password if conn else None,",
    "psql variable": "CREATE ROLE airflow LOGIN PASS" + "WORD :'airflow_password';",
    "f-string": 'f"admin_pass' + 'word = {password}\\n"',
    "placeholder": "pass" + "word: <your-password>",
    "short dev default": "pass" + "word: admin",
}


@pytest.mark.parametrize("sample", ALLOWED.values(), ids=ALLOWED.keys())
def test_the_detector_lets_references_and_placeholders_pass(sample: str) -> None:
    assert find_secrets(sample) == []
