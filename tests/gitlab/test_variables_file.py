"""The project's CI/CD variables file: GitLab's settings-page fields, and one-line errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildrig.errors import InputError
from buildrig.gitlab.variables_file import load


def test_fields_map_to_variables(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nx\n")
    path = tmp_path / "variables.toml"
    path.write_text(
        '[[variables]]\nkey = "CA"\ntype = "file"\nvalue_file = "certs/ca.pem"\nprotected = true\n'
        'raw = true\ndescription = "the CA"\n\n'
        '[[variables]]\nkey = "TOKEN"\nvalue = "abcdefgh12"\nmasked = true\n'
    )
    ca, token = load(path)
    assert ca.protected and ca.variable.file and not ca.variable.expand
    assert ca.variable.value == "-----BEGIN CERTIFICATE-----\nx\n"
    assert ca.variable.description == "the CA" and ca.variable.loc is not None and ca.variable.loc.line == 1
    assert token.variable.masked and token.variable.expand and not token.variable.file
    assert not token.protected and token.variable.loc is not None and token.variable.loc.line == 9


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[[variables]]\nkey = "A"\nvalue = 1\n', 1, "A: value must be a string"),
        ('[[variables]]\nkey = "A"\nvalue = "x"\n\n[[variables]]\nkey = "1B"\nvalue = "x"\n', 5, "key '1B'"),
        ('[[variables]]\nkey = "A"\n', 1, "give exactly one of value and value_file"),
        ('[[variables]]\nkey = "A"\nvalue = "x"\ntype = "secret"\n', 1, "type 'secret'"),
        ('[[variables]]\nkey = "A"\nvalue = "x"\nmaskd = true\n', 1, "unknown field 'maskd'"),
        ('[[variables]]\nkey = "A"\nvalue_file = "nope.pem"\n', 1, "cannot read value_file"),
        (
            '[[variables]]\nkey = "A"\nvalue = "x"\n[[variables]]\nkey = "A"\nvalue = "y"\n',
            4,
            "defined twice",
        ),
        ('[[variables]]\nkey = "A"\nvalue = "x\n', 3, "not valid TOML"),
        ("variable = 1\n", 0, "unknown top-level key 'variable'"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "variables.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load(path)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(info.value).startswith(where), str(info.value)
    assert message in str(info.value) and "\n" not in str(info.value)
