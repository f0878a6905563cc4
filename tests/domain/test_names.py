import pytest

from paas.domain.errors import InvalidParams
from paas.domain.names import (
    generate_app_name,
    validate_app_name,
    validate_config_key,
)


@pytest.mark.parametrize("name", ["abc", "my-app", "a1b2c3", "a" + "b" * 29, "web-2"])
def test_valid_app_names(name):
    assert validate_app_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 31, "1app", "-app", "app-", "My-App", "my_app", "my.app", "", "app/../x", None, 42],
)
def test_invalid_app_names(name):
    with pytest.raises(InvalidParams) as error:
        validate_app_name(name)
    assert error.value.status == 422


def test_generated_names_follow_the_rule():
    for _ in range(50):
        validate_app_name(generate_app_name())


@pytest.mark.parametrize("key", ["A", "_X", "DATABASE_URL", "lower_ok", "A1"])
def test_valid_config_keys(key):
    assert validate_config_key(key) == key


@pytest.mark.parametrize("key", ["1A", "A-B", "A B", "", "PORT", "DYNO", "É"])
def test_invalid_config_keys(key):
    with pytest.raises(InvalidParams):
        validate_config_key(key)
