"""deploy/'s files checked structurally (there is no container runtime here): every document parses, every Service
and front reaches the pods of one role on the port they listen on, every container gets the environment its role
reads (tests/deploy/topology.py ROLE_ENV) with URLs that lead to the right role, probes ask bot.launch's health
URLs, and the entry points start what bot.launch starts, listening beyond loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from bot.launch import PORTS, health_url
from bot.settings import ROOT
from tests.deploy.topology import DEPLOY, REPLICAS, ROLE_ENV, ROLES

K8S = DEPLOY / "k8s"
LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of",
          "app.kubernetes.io/managed-by")
ROLE_OF_URL = {"REFUNDS_URL": "refunds", "RASA_URL": "rasa", "ACTION_URL": "actions"}


def k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_documents() if d["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    return {**of_kind("Deployment"), **of_kind("StatefulSet")}


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment with every reference resolved against the Secret and ConfigMap."""
    secrets = {name: s.get("stringData", {}) for name, s in of_kind("Secret").items()}
    maps = {name: m["data"] for name, m in of_kind("ConfigMap").items()}
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = var["valueFrom"].get("secretKeyRef") or var["valueFrom"]["configMapKeyRef"]
        source = secrets if "secretKeyRef" in var["valueFrom"] else maps
        assert ref["key"] in source.get(ref["name"], {}), f"{var['name']}: no key {ref['key']} in {ref['name']}"
        env[var["name"]] = source[ref["name"]][ref["key"]]
    return env


def test_every_kubernetes_document_parses_and_carries_the_charts_labels() -> None:
    docs = k8s_documents()
    kinds = [d["kind"] for d in docs]
    assert {"Deployment", "Service", "Secret", "ConfigMap", "Job", "PersistentVolumeClaim"} <= set(kinds)
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    for doc in docs:
        if doc["kind"] == "Kustomization":
            continue
        labels = doc["metadata"]["labels"]
        assert all(label in labels for label in LABELS), doc["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == "after-sales-bot"


def test_every_service_selects_the_pods_of_one_workload_on_a_port_they_listen_on() -> None:
    for name, service in of_kind("Service").items():
        selector = service["spec"]["selector"]
        matching = [w for w in workloads().values()
                    if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matching) == 1, f"Service {name} selects {len(matching)} workloads"
        pod = matching[0]["spec"]["template"]
        assert matching[0]["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        ports = {p.get("name"): p["containerPort"] for c in pod["spec"]["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            target = port["targetPort"]
            assert target in ports or target in ports.values(), f"Service {name}: nothing listens on {target}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_runs_two_replicas_with_its_environment_probes_and_resources(role: str) -> None:
    deployment = of_kind("Deployment")[role]
    assert deployment["spec"]["replicas"] == REPLICAS
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    port = PORTS[role]
    assert container["command"] == ["python", "deploy/serve.py", role, str(port)]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    env = container_env(container)
    assert set(ROLE_ENV[role]) <= set(env), f"{role} lacks {set(ROLE_ENV[role]) - set(env)}"
    assert "DATABASE_URL" in env or "DATABASE_URL" not in ROLE_ENV[role]
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] in ("http", port) and get["path"] == urlparse(health_url(role)).path
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    services = of_kind("Service")
    for var, value in env.items():  # every URL leads to the Service of the role it names, on its port
        if var in ROLE_OF_URL:
            url = urlparse(value)
            assert url.hostname == ROLE_OF_URL[var] and url.port == PORTS[ROLE_OF_URL[var]], f"{var}={value}"
            assert [p["port"] for p in services[url.hostname]["spec"]["ports"]] == [url.port]
        if var in ("REDIS_URL", "DATABASE_URL"):
            url = urlparse(value)
            assert url.port in [p["port"] for p in services[url.hostname]["spec"]["ports"]], f"{var}={value}"
    if "DATABASE_URL" in ROLE_ENV[role]:  # no replica serves before the migration Job reached the head
        [init] = pod["initContainers"]
        assert init["command"] == ["python", "deploy/wait_migrated.py"] and "DATABASE_URL" in container_env(init)


def test_the_model_is_shared_read_only_and_the_photos_shared_by_the_gateways() -> None:
    claims = of_kind("PersistentVolumeClaim")
    for role, claim, mount, read_only in (("rasa", "bot-models", "/app/models", True),
                                          ("gateway", "bot-photos", "/app/var/photos", False)):
        pod = of_kind("Deployment")[role]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["persistentVolumeClaim"]["claimName"] == claim)
        [mounted] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
        assert mounted["mountPath"] == mount and mounted.get("readOnly", False) == read_only
        assert claims[claim]["spec"]["accessModes"] == (["ReadOnlyMany"] if read_only else ["ReadWriteMany"])


def test_the_migration_job_runs_bot_migrate() -> None:
    [job] = of_kind("Job").values()
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "bot.migrate"]
    assert set(ROLE_ENV["migrate"]) <= set(container_env(container))
    assert "BOT_SECRET" in of_kind("Secret")["bot-secret"]["stringData"]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"])


def test_compose_runs_two_replicas_of_each_role_behind_the_front() -> None:
    services = compose()
    conf = (DEPLOY / "nginx.conf").read_text()
    aliases = services["front"]["networks"]["default"]["aliases"]
    for role in ROLES:
        replicas = [name for name in services if re.fullmatch(rf"{role}-\d+", name)]
        assert len(replicas) == REPLICAS
        port = PORTS[role]
        upstream = re.search(rf"upstream {role} \{{(.*?)\}}", conf, re.S)
        assert upstream and re.findall(r"server (\S+?):(\d+)", upstream.group(1)) == [(r, str(port)) for r in replicas]
        assert re.search(rf"listen {port};\s*location / {{ proxy_pass http://{role}; }}", conf)
        assert role in aliases
        for name in replicas:
            service = services[name]
            assert service["command"] == ["python", "deploy/serve.py", role, str(port)]
            env = service["environment"]
            assert set(env) == set(ROLE_ENV[role]), f"{name}: {sorted(env)}"
            for var, value in env.items():
                if var in ROLE_OF_URL:
                    url = urlparse(value)
                    assert (url.hostname, url.port) == (ROLE_OF_URL[var], PORTS[ROLE_OF_URL[var]]), f"{var}={value}"
            assert service["healthcheck"]["test"][-1] == health_url(role)
    assert "proxy_next_upstream error timeout;" in conf and "non_idempotent" not in conf
    assert services["migrate"]["command"] == ["python", "-m", "bot.migrate"]
    assert all(v.endswith(":ro") for v in services["rasa-1"]["volumes"] if "models" in v)


@pytest.mark.parametrize("role", ROLES)
def test_the_entry_point_starts_what_bot_launch_starts_listening_beyond_loopback(role: str) -> None:
    from bot.launch import command

    # the same environment as this process, so both derive the same secrets and paths
    out = subprocess.run([sys.executable, str(DEPLOY / "serve.py"), "--dry-run", role, "9099"], cwd=ROOT,
                         capture_output=True, text=True, check=True, env={**os.environ, "BIND_HOST": "0.0.0.0"})
    started = json.loads(out.stdout)
    argv, env = command(role, 9099)
    assert "127.0.0.1" not in started["argv"] and started["env"].get("SANIC_HOST") != "127.0.0.1"
    changed = [(a, b) for a, b in zip(argv, started["argv"], strict=True) if a != b]
    assert changed in ([("127.0.0.1", "0.0.0.0")], []) and (changed or started["env"]["SANIC_HOST"] == "0.0.0.0")


def test_wait_migrated_waits_for_the_migration_head(tmp_path: Path) -> None:
    from bot.migrate import upgrade_to_head

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    script = [sys.executable, str(DEPLOY / "wait_migrated.py"), "--timeout", "0"]
    env = {"PATH": "", "DATABASE_URL": url, "BOT_VAR_DIR": str(tmp_path)}
    assert subprocess.run(script, cwd=ROOT, env=env, capture_output=True).returncode == 1
    upgrade_to_head(url)
    assert subprocess.run(script, cwd=ROOT, env=env, capture_output=True).returncode == 0
