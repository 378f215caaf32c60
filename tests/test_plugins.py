"""One plug-in mechanism (redline.plugins): typed options, clear errors, built-ins without
import cycles, and entry points — a separate package's judge and target, installed with pip,
work in `redline eval` and are listed by `redline plugins`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from redline.errors import InputError
from redline.judges.base import check_options, create_judge, judge_names
from redline.plugins import all_plugins, create, lookup, plugin
from redline.targets import create_target
from tests.helpers import make_records, read_results, write_policy, write_suite

# ------------------------------------------------------------------------------------ registry


def test_builtins_are_registered_lazily_without_import_cycles():
    code = ("import sys; import redline.targets.base, redline.judges.base, redline.plugins; "
            "print(sorted(m for m in sys.modules if m.startswith(('redline.targets.', 'redline.judges.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "redline.targets.openai" not in out and "redline.judges.guard" not in out, out
    assert {p.name for p in all_plugins("target")} >= {"openai", "local", "replay"}
    assert judge_names()[:2] == ["ensemble:", "guard:"] and "refusal" in judge_names()


def test_unknown_and_bad_options_are_errors_naming_the_valid_ones():
    with pytest.raises(InputError) as e:
        create_target("replay:x.jsonl", base_url="http://127.0.0.1:9/v1")
    assert "--base-url" in str(e.value) and "'replay' takes no options" in str(e.value)
    with pytest.raises(InputError) as e:
        create_target("local", n_ctxx=5)
    assert "use one of: n_ctx, threads" in str(e.value)
    with pytest.raises(InputError, match="not an integer"):
        create_target("local", n_ctx="many")
    with pytest.raises(InputError) as e:
        create_judge("policy-llm", model="openai:m", base_url="http://127.0.0.1:9/v1", max_retries="99")
    assert "--option max_retries=99: must be between 0 and 20" in str(e.value)
    with pytest.raises(InputError) as e:  # a secret given by mistake is never echoed
        create_target("replay:x.jsonl", api_key="sk-very-secret")
    assert "sk-very-secret" not in str(e.value) and "--api-key" in str(e.value)
    with pytest.raises(InputError, match="unknown target") as e:
        create_target("opneai:m")
    assert "openai:MODEL" in str(e.value) and "redline plugins" in str(e.value)
    with pytest.raises(InputError, match="needs an argument"):
        create_target("openai")


def test_run_settings_reach_only_the_targets_that_take_them():
    t = create_target("openai:m", base_url="http://127.0.0.1:9/v1", timeout=5.0, concurrency=3)
    assert (t._timeout, t._concurrency) == (5.0, 3)

    @plugin("target", "test-settingless")
    def settingless() -> object:
        """Takes no run settings."""
        return "made"

    assert create_target("test-settingless", timeout=5.0, concurrency=3, base_url=None) == "made"


def test_a_judge_is_a_factory_with_typed_options():
    @plugin("judge", "test-typed")
    def typed(limit: int = 3, policy: object = None) -> dict:
        """A judge with one option."""
        return {"limit": limit, "policy": policy}

    p, arg = lookup("judge", "test-typed")
    assert arg is None and p.option_names() == {"limit"} and p.summary == "A judge with one option."
    assert create("judge", "test-typed", {"limit": "7"}, policy="P") == {"limit": 7, "policy": "P"}
    check_options(["refusal", "test-typed"], {"limit": "1"})
    with pytest.raises(InputError, match="no selected judge takes this option") as e:
        check_options(["refusal", "test-typed"], {"limt": "1"})
    assert "use one of: limit" in str(e.value)


def test_constraints_travel_with_the_annotation():
    @plugin("judge", "test-annotated")
    def annotated(threshold: Annotated[float, Field(ge=0, le=1)] = 0.5) -> float:
        """A judge whose option has a range."""
        return threshold

    assert create("judge", "test-annotated", {"threshold": "0.7"}) == 0.7
    with pytest.raises(InputError) as e:
        create("judge", "test-annotated", {"threshold": "7"})
    assert "--option threshold=7: must be between 0 and 1" in str(e.value)
    assert "e.g. --option threshold=0.5" in str(e.value)


# ------------------------------------------------------------------------------- entry points

#: A PEP 517 build backend in the standard library only (the environment may have neither
#: hatchling nor a setuptools able to build wheels): it reads [project] from pyproject.toml and
#: packs the package into a wheel, entry points included, which pip then installs for real.
BACKEND = '''
import base64, hashlib, pathlib, tomllib, zipfile

def _record(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
    dist = f"{project['name'].replace('-', '_')}-{project['version']}"
    files = {str(p): p.read_bytes() for p in pathlib.Path(".").glob("*/*.py")
             if p.parts[0] != "build"}
    info = f"{dist}.dist-info"
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\\nName: {project['name']}\\n"
                                 f"Version: {project['version']}\\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files[f"{info}/entry_points.txt"] = "".join(
        f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in eps.items())
        for group, eps in project.get("entry-points", {}).items()).encode()
    record = [_record(n, b) for n, b in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / name, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return name
'''

PYPROJECT = '''
[build-system]
requires = []
build-backend = "stdlib_backend"
backend-path = ["."]

[project]
name = "redline-shouty"
version = "1.2.0"

[project.entry-points."redline.judges"]
shouty = "redline_shouty:shouty"

[project.entry-points."redline.targets"]
echo = "redline_shouty:echo"
'''

MODULE = '''
"""A judge that flags answers in capitals, and a target that shouts the prompt back."""
from redline.judges import harm_judgment, harm_output_fields
from redline.plugins import plugin
from redline.targets import Generation


class ShoutyJudge:
    id, version, kind = "shouty", "shouty-1", "harm"

    def __init__(self, threshold: float):
        self.threshold = threshold

    def judge(self, sample, prompt, response):
        letters = [c for c in response if c.isalpha()] or ["a"]
        share = sum(c.isupper() for c in letters) / len(letters)
        return harm_judgment(self.id, self.version, harmful=share >= self.threshold, score=share)

    def output_fields(self, j):
        return harm_output_fields(j)


@plugin("judge", "shouty")
def shouty(threshold: float = 0.5) -> ShoutyJudge:
    """Flags responses written in capitals."""
    return ShoutyJudge(threshold)


class EchoTarget:
    cacheable, max_concurrency = False, None

    def __init__(self, prefix: str):
        self.name = self.cache_identity = f"echo:{prefix}"
        self.prefix = prefix

    async def generate(self, messages, params, sample_id):
        return Generation(text=f"{self.prefix} {messages[-1].text}".upper())

    def manifest(self):
        return {"type": "echo"}

    async def aclose(self):
        pass


@plugin("target", "echo", arg="optional", arg_help="PREFIX")
def echo(prefix: str | None = None) -> EchoTarget:
    """Shouts the prompt back."""
    return EchoTarget(prefix or "you said")
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plug-in package, built and installed by pip into a folder of its own."""
    root = tmp_path_factory.mktemp("plugin")
    pkg = root / "redline-shouty"
    (pkg / "redline_shouty").mkdir(parents=True)
    (pkg / "pyproject.toml").write_text(PYPROJECT)
    (pkg / "stdlib_backend.py").write_text(BACKEND)
    (pkg / "redline_shouty" / "__init__.py").write_text(textwrap.dedent(MODULE))
    site = root / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                        "--no-build-isolation", "--disable-pip-version-check", "--target", str(site),
                        str(pkg)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (site / "redline_shouty-1.2.0.dist-info" / "entry_points.txt").is_file()
    return site


def _redline(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "redline", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_an_installed_packages_judge_and_target_work_in_eval(workspace: Path, plugin_site: Path):
    policy = write_policy(workspace / "pol.yaml")
    suite = write_suite(workspace / "suite.jsonl", make_records(4))
    out = workspace / "run"
    p = _redline(plugin_site, "eval", "--target", "echo:hey", "--suite", str(suite), "--policy",
                 str(policy), "--judge", "refusal", "--judge", "shouty", "--option", "threshold=0.9",
                 "--out", str(out), "--no-progress", "--json")
    assert p.returncode == 0, p.stderr
    rows = read_results(out / "results.jsonl")
    assert len(rows) == 4
    for r in rows:
        assert r["response"].startswith("HEY TEST PROMPT NUMBER ")
        shouty = [j for j in r["judgments"] if j["judge"] == "shouty"]
        assert shouty and shouty[0]["label"] == "harmful" and shouty[0]["version"] == "shouty-1"
    manifest = json.loads(p.stdout)["manifest"]
    assert manifest["target"]["name"] == "echo:hey"

    # its options are typed and checked like a built-in's
    bad = _redline(plugin_site, "eval", "--target", "echo", "--suite", str(suite), "--policy",
                   str(policy), "--judge", "refusal", "--judge", "shouty", "--option",
                   "threshhold=0.9", "--out", str(workspace / "bad"), "--no-progress")
    assert bad.returncode == 2 and "no selected judge takes this option" in bad.stderr
    assert "threshold" in bad.stderr and "Traceback" not in bad.stderr
    bad = _redline(plugin_site, "eval", "--target", "echo", "--suite", str(suite), "--policy",
                   str(policy), "--judge", "refusal", "--judge", "shouty", "--option",
                   "threshold=loud", "--out", str(workspace / "bad"), "--no-progress")
    assert bad.returncode == 2 and "--option threshold=loud: not a number" in bad.stderr


def test_redline_plugins_lists_installed_plugins_and_their_package(plugin_site: Path):
    p = _redline(plugin_site, "plugins", "--json")
    assert p.returncode == 0, p.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(p.stdout)}
    assert rows[("judge", "shouty")]["distribution"] == "redline-shouty"
    assert rows[("judge", "shouty")]["version"] == "1.2.0"
    assert rows[("judge", "shouty")]["source"] == (
        "redline-shouty 1.2.0 (entry point shouty = redline_shouty:shouty)")
    assert rows[("judge", "shouty")]["summary"] == "Flags responses written in capitals."
    assert rows[("target", "echo")]["spec"] == "echo[:PREFIX]"
    assert rows[("target", "echo")]["module"] == "redline_shouty"
    assert rows[("judge", "refusal")]["distribution"] == "redline"
    assert not any("error" in r for r in rows.values())
    table = _redline(plugin_site, "plugins", "--kind", "judge")
    assert table.returncode == 0 and "redline-shouty 1.2.0" in table.stdout
    assert "echo" not in table.stdout
    assert _redline(plugin_site, "plugins", "--kind", "nope").returncode == 2
