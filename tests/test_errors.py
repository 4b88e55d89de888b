"""The domain's problem types have one home, pledges/errors.py: a client's
list of codes is that file. These tests fail when a module declares a
refusal of its own elsewhere, or when two refusals answer with one code."""

import importlib
import pkgutil

import pytest

import backend
import pledges
import reports
from backend.problems import problem_exception_handler
from pledges import errors
from pledges.errors import DomainError


def _all_modules():
    for package in (backend, pledges, reports):
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if ".migrations." in module.name or module.name.endswith(".migrations"):
                continue
            importlib.import_module(module.name)


def _refusals(cls: type[DomainError] = DomainError) -> list[type[DomainError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_refusals(sub))
    return found


@pytest.fixture(scope="module")
def refusals() -> list[type[DomainError]]:
    _all_modules()
    return [cls for cls in _refusals() if not cls.__module__.startswith("tests.")]


def test_every_refusal_is_declared_in_the_errors_module(refusals):
    assert len(refusals) >= 10  # the walk found them
    elsewhere = sorted(f"{cls.__module__}.{cls.__name__}" for cls in refusals if cls.__module__ != errors.__name__)

    assert elsewhere == []


def test_no_two_refusals_share_a_code(refusals):
    codes = [cls.code for cls in refusals]

    assert len(set(codes)) == len(codes), sorted(codes)


PROBLEM_TYPES = {
    name: value
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, DomainError) and value is not DomainError
}


@pytest.mark.parametrize("cls", PROBLEM_TYPES.values(), ids=PROBLEM_TYPES.keys())
def test_each_refusal_answers_with_its_own_status_code_and_title(cls):
    error = cls({"amount": ["Too much."]}) if cls is errors.InvalidInput else cls("What went wrong, in words.")

    response = problem_exception_handler(error, {})

    assert 400 <= cls.status < 600
    assert response.status_code == cls.status
    assert response.data["code"] == cls.code
    assert response.data["title"] == cls.title
    assert response.content_type == "application/problem+json"
