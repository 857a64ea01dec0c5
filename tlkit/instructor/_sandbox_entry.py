"""First program inside a grading sandbox: set resource limits, drop to the sandbox user, then exec.

Run by bubblewrap as ``python -I _sandbox_entry.py SPEC_JSON COMMAND...``; it
imports only the standard library (nothing a submission could have touched).
``SPEC_JSON`` holds ``{"limits": {"RLIMIT_AS": bytes, ...}, "uid": 65534,
"gid": 65534}``. When the process is root (the grader ran bubblewrap as root,
without a user namespace) it switches to ``uid``/``gid`` for good; in every
case it sets ``no_new_privs`` so no setuid program can raise its privileges.
"""

import ctypes
import json
import os
import resource
import sys

PR_SET_NO_NEW_PRIVS = 38


def main() -> None:
    spec = json.loads(sys.argv[1])
    command = sys.argv[2:]
    for name, value in spec.get("limits", {}).items():
        soft, hard = (value, value) if isinstance(value, int) else value
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if os.geteuid() == 0 and spec.get("uid") is not None:
        os.setgroups([])
        os.setresgid(spec["gid"], spec["gid"], spec["gid"])
        os.setresuid(spec["uid"], spec["uid"], spec["uid"])
        if os.geteuid() == 0 or os.getegid() == 0:
            raise SystemExit("the sandbox could not drop root privileges")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SystemExit("the sandbox could not set no_new_privs")
    os.umask(0o022)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
