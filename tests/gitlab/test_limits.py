"""Limits on input (issue 14): deep nesting, aliases, !reference, includes, odd files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from buildrig.errors import InputError
from buildrig.fsutil import read_user_file
from buildrig.gitlab import limits
from buildrig.gitlab.ci import load_pipeline, load_pipeline_text
from buildrig.gitlab.dockerd_config import (
    _json_key_lines,
    load_daemon_json,
    load_daemon_json_text,
    with_cert_sans,
)
from buildrig.gitlab.runner_config import _scan, load_runner_config, load_runner_config_text
from buildrig.gitlab.yamlnodes import load_documents

JOB = "build:\n  script: [echo]\n"


def _err(excinfo: pytest.ExceptionInfo[InputError]) -> str:
    return str(excinfo.value)


# --- nesting -----------------------------------------------------------------------------------


def test_deep_flow_yaml_is_refused_before_the_c_parser(tmp_path: Path) -> None:
    # 30,000 "[" overflowed the C composer's stack (a segfault) before the check
    text = "a: 1\nbuild:\n  script: " + "[" * 30000 + "]" * 30000 + "\n"
    with pytest.raises(InputError) as exc:
        load_documents(text, tmp_path / "ci.yml")
    assert _err(exc) == f"{tmp_path / 'ci.yml'}:3: nested deeper than the limit of 100 levels"


def test_deep_block_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = ["build:", "  script: [echo]", "  variables:"]
    lines += ["  " * (i + 2) + f"k{i}:" for i in range(5000)]
    with pytest.raises(InputError, match=r"ci.yml:10\d: nested deeper than the limit of 100"):
        load_documents("\n".join(lines) + " x\n", tmp_path / "ci.yml")


def test_nesting_at_the_limit_is_read(tmp_path: Path) -> None:
    ok = "a: " + "[" * 99 + "]" * 99 + "\n"  # 100 levels with the top mapping
    assert load_documents(ok, tmp_path / "ci.yml")
    with pytest.raises(InputError, match="nested deeper"):
        load_documents("a: " + "[" * 100 + "]" * 100 + "\n", tmp_path / "ci.yml")


def test_many_shallow_brackets_are_not_mistaken_for_depth(tmp_path: Path) -> None:
    text = "".join(f"j{i}:\n  script: [echo {i}]\n  tags: [a, b]\n" for i in range(300))
    docs = load_documents(text, tmp_path / "ci.yml")
    assert len(docs[0]) == 300


def test_deep_json_is_an_input_error_not_a_recursion_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"daemon.json:2: nested deeper than the limit of 100"):
        load_daemon_json_text(
            '{"a": 1,\n "b": ' + "[" * 100000 + "]" * 100000 + "}", tmp_path / "daemon.json"
        )
    # brackets inside strings do not count
    cfg = load_daemon_json_text(json.dumps({"x": "[" * 500, "mtu": 1400}), tmp_path / "daemon.json")
    assert cfg.mtu == 1400


def test_deep_toml_is_an_input_error(tmp_path: Path) -> None:
    text = '[[runners]]\n  name = "r"\n  x = ' + "[" * 50000 + "]" * 50000 + "\n"
    with pytest.raises(InputError, match=r"config.toml:3: nested deeper than the limit of 100"):
        load_runner_config_text(text, tmp_path / "config.toml")
    text = '[[runners]]\n  name = "r"\n  x = ' + "{a = " * 300 + "1" + "}" * 300 + "\n"
    with pytest.raises(InputError, match="nested deeper"):
        load_runner_config_text(text, tmp_path / "config.toml")


def test_huge_integers_in_json_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid JSON"):
        load_daemon_json_text('{"mtu": ' + "9" * 5000 + "}", tmp_path / "daemon.json")


# --- unbounded growth ----------------------------------------------------------------------------


def _bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join(f"*a{i - 1}" for _ in range(width)) + "]")
    return "\n".join(lines) + f"\nbuild:\n  script: [echo]\n  variables: {{X: *a{levels}}}\n"


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    # named where the aliases multiply: a6 (line 7) alone is past the limit, a5 is not
    with pytest.raises(InputError, match=r"ci\.yml:7: this part expands to more than the limit of 1,000,000"):
        load_pipeline_text(_bomb(8, 9), tmp_path / ".gitlab-ci.yml")


def test_aliases_under_the_limit_still_work(tmp_path: Path) -> None:
    text = ".base: &base\n  image: alpine\n  script: [echo]\n" + "".join(
        f"j{i}:\n  <<: *base\n" for i in range(50)
    )
    p = load_pipeline_text(text, tmp_path / ".gitlab-ci.yml")
    assert len(p.jobs) == 50 and all(j.script == ("echo",) for j in p.jobs)


def test_reference_fan_out_is_refused(tmp_path: Path) -> None:
    lines = [".r0: {s: [echo]}"]
    for i in range(1, 10):
        lines.append(f".r{i}: {{s: [" + ", ".join(f"!reference [.r{i - 1}, s]" for _ in range(10)) + "]}")
    text = "\n".join(lines) + "\nbuild:\n  script: [!reference [.r9, s]]\n"
    with pytest.raises(InputError, match="expands to more than the limit"):
        load_pipeline_text(text, tmp_path / ".gitlab-ci.yml")


def test_shared_references_keep_the_nesting_limit(tmp_path: Path) -> None:
    # .r11 is resolved once through .r1 (shallow) and then reused deeper: still 12 levels
    lines = [".r0: {s: [echo]}"] + [f".r{i}: {{s: [!reference [.r{i - 1}, s]]}}" for i in range(1, 13)]
    text = "\n".join(lines) + "\nbuild:\n  script: [!reference [.r12, s]]\n"
    with pytest.raises(InputError, match="nests deeper than 10 levels"):
        load_pipeline_text(text, tmp_path / ".gitlab-ci.yml")


def test_includes_count_repeats_and_stop_at_the_limit(tmp_path: Path) -> None:
    # each file includes the next one twice: 2**25 loads before the limit
    (tmp_path / ".gitlab-ci.yml").write_text("include: [inc0.yml, inc0.yml]\n" + JOB)
    for i in range(25):
        nxt = f"inc{i + 1}.yml"
        body = f"include: [{nxt}, {nxt}]\n" if i < 24 else ""
        (tmp_path / f"inc{i}.yml").write_text(body + f".t{i}: {{script: [echo]}}\n")
    with pytest.raises(InputError, match="more than the limit of 150 included files"):
        load_pipeline(tmp_path / ".gitlab-ci.yml")


def test_include_count_at_the_limit(tmp_path: Path) -> None:
    for i in range(151):
        (tmp_path / f"i{i}.yml").write_text(f".t{i}: {{script: [echo]}}\n")
    (tmp_path / ".gitlab-ci.yml").write_text("include: 'i*.yml'\n" + JOB)
    with pytest.raises(InputError, match=r"\.gitlab-ci\.yml:1: more than the limit of 150"):
        load_pipeline(tmp_path / ".gitlab-ci.yml")
    (tmp_path / "i150.yml").unlink()
    assert len(load_pipeline(tmp_path / ".gitlab-ci.yml").files) == 151


# --- files: confinement, type, size --------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yml").write_text("'root:$6$HOSTSECRET': 1\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    return proj


@pytest.mark.parametrize("include", ["../outside/secret.yml", "/../outside/secret.yml", "'../outside/*.yml'"])
def test_include_local_stays_in_the_project(project: Path, include: str) -> None:
    (project / ".gitlab-ci.yml").write_text(f"include: {include}\n" + JOB)
    with pytest.raises(InputError) as exc:
        load_pipeline(project / ".gitlab-ci.yml")
    assert "outside the project" in _err(exc) and "HOSTSECRET" not in _err(exc)


def test_include_through_a_symlink_out_of_the_project(project: Path) -> None:
    os.symlink(project.parent / "outside" / "secret.yml", project / "link.yml")
    (project / ".gitlab-ci.yml").write_text("include: link.yml\n" + JOB)
    with pytest.raises(InputError, match=r"\.gitlab-ci\.yml:1: .*link\.yml: leads outside the project"):
        load_pipeline(project / ".gitlab-ci.yml")


def test_symlinked_ci_file_out_of_the_project(project: Path) -> None:
    os.symlink(project.parent / "outside" / "secret.yml", project / ".gitlab-ci.yml")
    with pytest.raises(InputError) as exc:
        load_pipeline(project / ".gitlab-ci.yml")
    assert "outside the project" in _err(exc) and "HOSTSECRET" not in _err(exc)


def test_long_include_name_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text("include: " + "a" * 300 + ".yml\n" + JOB)
    with pytest.raises(InputError, match=r"\.gitlab-ci\.yml:1: include: local 'a+\.yml' cannot be read"):
        load_pipeline(tmp_path / ".gitlab-ci.yml")


def test_read_user_file_refuses_devices_fifos_and_big_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="/dev/zero: not a regular file"):
        read_user_file(Path("/dev/zero"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):  # without blocking
        read_user_file(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(InputError, match="larger than"):
        read_user_file(big, limit=1000)
    assert read_user_file(big, limit=1001) == b"x" * 1001


def test_parsers_refuse_devices(tmp_path: Path) -> None:
    for load in (load_runner_config, load_daemon_json, load_pipeline):
        with pytest.raises(InputError, match="not a regular file"):
            load(Path("/dev/zero"))  # type: ignore[operator]


def test_include_that_is_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.yml")
    (tmp_path / ".gitlab-ci.yml").write_text("include: f.yml\n" + JOB)
    with pytest.raises(InputError, match=r"\.gitlab-ci\.yml:1: .*f\.yml: not a regular file"):
        load_pipeline(tmp_path / ".gitlab-ci.yml")


@pytest.mark.parametrize("kind", ["zero", "fifo", "dir"])
def test_tlscert_that_is_no_file_is_not_read(tmp_path: Path, kind: str) -> None:
    target = {"zero": Path("/dev/zero"), "fifo": tmp_path / "fifo", "dir": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    cfg = load_daemon_json_text(json.dumps({"tlscert": str(target)}), tmp_path / "daemon.json")
    assert with_cert_sans(cfg) == cfg  # nothing learnt, nothing hung, nothing raised


# --- slow input: correctness of the rewritten scanners -----------------------------------------


def test_json_key_lines_one_pass() -> None:
    text = '{\n "a": 1,\n "b\\"c": {"a": 2},\n "d": "\\"e\\": 3"\n}'
    assert _json_key_lines(text, ["a", 'b"c', "d", "zz"]) == {"a": 2, 'b"c': 3, "d": 4, "zz": 0}


def test_toml_header_scan() -> None:
    scan = _scan('[[runners]]\n  name = "r"\n[ runners.docker ]  # c\n  image = "x"\n[' + " " * 3000 + "\n")
    assert [s.path for s in scan.runners[0].sections] == ["", "docker"]
    assert scan.runners[0].sections[1].keys == {"image": 4}


def test_limits_are_documented() -> None:
    doc = limits.__doc__ or ""
    for name in ("MAX_DEPTH", "MAX_NODES", "MAX_INCLUDES", "MAX_INPUT_BYTES", "MAX_PARALLEL"):
        assert name in doc
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "## Limits on input" in readme
    for figure in (f"{limits.MAX_DEPTH}", f"{limits.MAX_NODES:,}", f"{limits.MAX_INCLUDES}", "4 MiB"):
        assert figure in readme.split("## Limits on input", 1)[1]


def test_environment_item_lines_in_a_long_array(tmp_path: Path) -> None:
    items = "".join(f'    "K{i}=v",\n' for i in range(500))
    text = '[[runners]]\n  name = "r"\n  environment = [\n' + items + '  ]\n  executor = "docker"\n'
    runner = load_runner_config_text(text, tmp_path / "config.toml").runners[0]
    assert [(v.name, v.loc.line if v.loc else 0) for v in runner.environment[:2]] == [("K0", 4), ("K1", 5)]
    assert runner.environment[499].loc is not None and runner.environment[499].loc.line == 503


def test_recursive_alias_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"ci\.yml:2: an alias inside its own anchor"):
        load_documents("a: 1\nb: &x [1, {c: *x}]\n", tmp_path / "ci.yml")


@pytest.mark.parametrize("text", ["\udc80" + "[" * 200, "a: \udc80\n"])
def test_text_with_lone_surrogates_is_an_input_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError, match="not UTF-8 text"):
        load_documents(text, tmp_path / "ci.yml")
