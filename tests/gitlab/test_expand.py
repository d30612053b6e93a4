"""``$VAR`` expansion with GitLab's rules: Go's os.Expand over the job's variables
(common/variables.go:79-139 at runner v17.9.3), references resolved all the way down."""

from __future__ import annotations

import pytest

from buildrig.gitlab.expand import expand, expand_with, resolve
from buildrig.gitlab.model import Variable

ENV = {"A": "1", "B": "two", "EMPTY": "", "-": "dash"}


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("$A-${B}", "1-two"),
        ("$$A", "$A"),  # $$ is a literal $
        ("$$$A", "$1"),
        ("${A}x $Ax", "1x "),  # $Ax is the variable Ax: unknown, empty
        ("$MISSING.", "."),
        ("$1 $9x $* $# $@ $! $? $0", " x      "),  # positional and special: always empty
        ("$-", "dash"),
        ("${A:-fallback}", ""),  # no shell forms: a variable named "A:-fallback"
        ("${}x", "x"),  # bad syntax is dropped
        ("a${A", "aA"),  # an unclosed ${ drops "${"
        ("cost: 5$", "cost: 5$"),  # a trailing $ stays
        ("$ and $/", "$ and $/"),  # a $ naming nothing stays
        ("${$}", "$"),
        ("no dollar", "no dollar"),
    ],
)
def test_os_expand(text: str, out: str) -> None:
    assert expand(text, ENV) == out


def test_keep_unknown_keeps_the_reference_as_written() -> None:
    assert expand("$CI_REGISTRY/${IMAGE}:$A", ENV, keep_unknown=True) == "$CI_REGISTRY/${IMAGE}:1"


def test_resolve_all_the_way_down_raw_and_cycles() -> None:
    vs = {
        "HOST": Variable("HOST", "reg:5000"),
        "IMG": Variable("IMG", "$HOST/app"),
        "TAG": Variable("TAG", "$IMG:1"),
        "RAW": Variable("RAW", "$IMG", expand=False),
        "LOOP": Variable("LOOP", "$LOOP!"),
        "P": Variable("P", "$Q"),
        "Q": Variable("Q", "$P"),
    }
    assert resolve("TAG", vs) == "reg:5000/app:1"
    assert resolve("RAW", vs) == "$IMG"
    assert resolve("LOOP", vs) == "$LOOP!!"  # a cycle stops at the text as written
    assert resolve("P", vs) == "$Q"  # (GitLab refuses a cycle; here it stays as text)
    assert expand_with("${TAG}-$RAW-$UNSET", vs) == "reg:5000/app:1-$IMG-"
    assert expand_with("$UNSET/$IMG", vs, keep_unknown=True) == "$UNSET/reg:5000/app"


def test_a_file_variable_expands_to_its_path() -> None:
    vs = {"CA": Variable("CA", "-----BEGIN", file=True), "OPTS": Variable("OPTS", "--ca $CA")}
    path = {"file_path": lambda name: f"/tmp/{name}"}
    assert resolve("OPTS", vs, **path) == "--ca /tmp/CA"
    assert expand_with("$CA", vs, **path) == "/tmp/CA"
    assert resolve("OPTS", vs) == "--ca -----BEGIN"  # without a place for files: the content
