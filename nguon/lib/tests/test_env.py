from pathlib import Path

import pytest

from nguon.lib.env import EnvError, env_bool, env_int, env_list, env_path, env_str


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " On "])
def test_env_bool_true(value):
    assert env_bool("NGUON_X", False, environ={"NGUON_X": value}) is True


@pytest.mark.parametrize("value", ["0", "false", "No", "off", ""])
def test_env_bool_false(value):
    assert env_bool("NGUON_X", True, environ={"NGUON_X": value}) is False


def test_env_bool_default_when_unset():
    assert env_bool("NGUON_X", True, environ={}) is True
    assert env_bool("NGUON_X", False, environ={}) is False


@pytest.mark.parametrize("value", ["maybe", "2", "tru", "y"])
def test_env_bool_rejects_other_values_naming_the_variable(value):
    with pytest.raises(EnvError, match="NGUON_SECURE_COOKIES") as info:
        env_bool("NGUON_SECURE_COOKIES", False, environ={"NGUON_SECURE_COOKIES": value})
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_env_int():
    assert env_int("NGUON_N", 5, environ={"NGUON_N": " 42 "}) == 42
    assert env_int("NGUON_N", 5, environ={}) == 5
    assert env_int("NGUON_N", 5, environ={"NGUON_N": ""}) == 5
    assert env_int("NGUON_N", 5, minimum=1, maximum=10, environ={"NGUON_N": "10"}) == 10


@pytest.mark.parametrize("value", ["abc", "1.5", "5 minutes"])
def test_env_int_rejects_non_integers_naming_the_variable(value):
    with pytest.raises(EnvError, match="NGUON_LOCKOUT_MINUTES"):
        env_int("NGUON_LOCKOUT_MINUTES", 15, environ={"NGUON_LOCKOUT_MINUTES": value})


@pytest.mark.parametrize(("value", "word"), [("0", "minimum"), ("101", "maximum")])
def test_env_int_checks_bounds_naming_the_variable(value, word):
    with pytest.raises(EnvError, match=f"NGUON_LOGIN_FAILURE_LIMIT.*{word}"):
        env_int("NGUON_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100, environ={"NGUON_LOGIN_FAILURE_LIMIT": value})


def test_env_str_and_list():
    assert env_str("NGUON_S", "d", environ={}) == "d"
    assert env_str("NGUON_S", "d", environ={"NGUON_S": "  v  "}) == "v"
    assert env_list("NGUON_L", ["a"], environ={}) == ["a"]
    assert env_list("NGUON_L", ["a"], environ={"NGUON_L": "x, y,,z ,"}) == ["x", "y", "z"]
    assert env_list("NGUON_L", ["a"], environ={"NGUON_L": ""}) == []


def test_env_path_is_absolute(tmp_path):
    assert env_path("NGUON_P", tmp_path, environ={}) == tmp_path.resolve()
    assert env_path("NGUON_P", tmp_path, environ={"NGUON_P": "relative/dir"}) == (Path.cwd() / "relative/dir").resolve()
    assert env_path("NGUON_P", tmp_path, environ={"NGUON_P": "~/x"}).is_absolute()


def test_helpers_read_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("NGUON_TEST_FLAG", "yes")
    monkeypatch.setenv("NGUON_TEST_NUMBER", "nope")
    assert env_bool("NGUON_TEST_FLAG") is True
    with pytest.raises(EnvError, match="NGUON_TEST_NUMBER"):
        env_int("NGUON_TEST_NUMBER", 1)
