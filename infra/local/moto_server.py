"""moto server (the emulator of infra/local/moto.sh), with one fix to what it sends.

moto 5.2.5's Transfer Family sends an SSH public key's `DateImported` as a JSON
string ("1764749311.5"). AWS's awsJson 1.1 protocol sends timestamps as epoch
seconds, a JSON number, and the AWS SDK for Rust refuses the string, so
`DescribeUser` of a user with a key cannot be read at all. This launcher sends
the number, as AWS does, and changes nothing else. Remove it once moto does the
same (check `moto/transfer/types.py`, `User.to_dict`).

Usage: python moto_server.py [moto_server arguments]
"""

import sys

from moto.server import main
from moto.transfer import types

_to_dict = types.User.to_dict


def _to_dict_with_numeric_dates(self):
    user = _to_dict(self)
    for key in user.get("SshPublicKeys") or []:
        value = key.get("DateImported")
        if isinstance(value, str):
            key["DateImported"] = float(value)
    return user


types.User.to_dict = _to_dict_with_numeric_dates

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
