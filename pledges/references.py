"""ISO 11649 creditor references ("RF" + two check digits + our reference).

python-stdnum computes and checks the digits; we only choose the body.
"""

import secrets

from stdnum import iso11649
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.iso7064 import mod_97_10

# Digits and capitals without I and O, which people misread on paper.
BODY_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
BODY_PREFIX = "VTF"
BODY_RANDOM_LENGTH = 9


def reference_new() -> str:
    """A fresh reference in compact form, e.g. "RF47VTF12K8M3Q7X"."""
    body = BODY_PREFIX + "".join(secrets.choice(BODY_ALPHABET) for _ in range(BODY_RANDOM_LENGTH))
    check_digits = mod_97_10.calc_check_digits(body + "RF")
    return iso11649.validate("RF" + check_digits + body)


def reference_normal(text: str) -> str:
    """`text` in the compact form references are stored in, however a
    person wrote it ("rf18 5390-0754 7034" -> "RF18539007547034"), without
    checking its digits: the one way every lookup reads a reference."""
    return iso11649.compact(text)


def reference_parse(text: str) -> str | None:
    """The compact reference in `text` (spaces and case as people type them),
    or None when it is not a valid ISO 11649 reference."""
    try:
        return iso11649.validate(text)
    except StdnumValidationError:
        return None


def reference_for_print(reference: str) -> str:
    """Grouped by four characters, as printed on bank instructions."""
    return iso11649.format(reference)
