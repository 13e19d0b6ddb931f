"""Cheap argon2 parameters for the tests' gateways and in-process CLI.

A hash with the production parameters (argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes) takes ~0.2 s of
CPU, and the suite signs up, signs in and confirms passwords some thousands of times: about a third of the
CPU the gateways spend. The tests check what is done with passwords (argon2id, off the event loop, throttled,
never stored in the clear), not how long a hash takes, so the forked gateways (tests/zygote.py) and the
test processes hash with the same algorithm at a small cost. Gateways started as real executables
(tests/test_serve.py, ALLTOKEN_TEST_FORK=0) and ALLTOKEN_TEST_PASSWORD_COST=production keep the defaults.
"""

import os

from argon2 import PasswordHasher

from alltoken.accounts import passwords


def use_test_cost() -> None:
    if os.environ.get("ALLTOKEN_TEST_PASSWORD_COST") != "production":
        passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
