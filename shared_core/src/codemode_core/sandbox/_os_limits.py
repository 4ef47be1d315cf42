"""OS-level confinement of an isolated worker process (Linux first, best effort elsewhere).

Applied inside the worker after it has imported everything it will ever need and before it
reads its first plan:
- resource limits: address space (memory), CPU seconds per plan, no file writes (`FSIZE=0`),
  no core dumps, few file descriptors;
- a seccomp filter (via `pyseccomp` + the system's libseccomp) that makes `execve`, process
  creation, sockets, `ptrace`, namespaces, mounts, file opening and other kernel attack
  surface fail with `EPERM`.
What was applied is reported back, so the host can log it and `docs/security.md` can say
exactly what is enforced.
"""

from __future__ import annotations

import errno
import logging
import sys
from typing import Any

__all__ = ["apply_confinement", "set_cpu_budget"]

log = logging.getLogger("codemode.sandbox")

_DENIED_SYSCALLS = (
    # new programs and processes (threads stay allowed: clone with CLONE_THREAD)
    "execve",
    "execveat",
    "fork",
    "vfork",
    # the network and other processes
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kill",
    "tkill",
    "tgkill",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    # files: plans have no `open`; this closes the door even after an escape
    "open",
    "openat",
    "openat2",
    "creat",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "truncate",
    "chdir",
    "fchdir",
    "chroot",
    # kernel attack surface
    "mount",
    "umount2",
    "pivot_root",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "personality",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "reboot",
    "swapon",
    "swapoff",
    "syslog",
    "acct",
    "quotactl",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "prctl",
    "seccomp",
)
_CLONE_THREAD = 0x00010000


def set_cpu_budget(seconds: float) -> None:
    """Allow at most `seconds` more CPU time from now (SIGXCPU kills the worker past it)."""
    try:
        import resource

        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = used.ru_utime + used.ru_stime
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(spent + seconds) + 1
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, ValueError, OSError):
        return


def _resource_limits(max_memory_mb: int) -> list[str]:
    try:
        import resource
    except ImportError:
        return []
    applied = []
    for name, value in (
        ("RLIMIT_AS", max_memory_mb * 1024 * 1024),
        ("RLIMIT_FSIZE", 0),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NOFILE", 64),
    ):
        limit = getattr(resource, name, None)
        if limit is None:
            continue
        try:
            resource.setrlimit(limit, (value, value))
            applied.append(f"{name}={value}")
        except (ValueError, OSError) as exc:
            log.warning("codemode worker: could not set %s: %s", name, exc)
    return applied


def _seccomp() -> str | None:
    """Install the syscall filter; returns a reason when it could not be installed."""
    if not sys.platform.startswith("linux"):
        return f"seccomp is Linux-only (platform {sys.platform})"
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:
        return f"pyseccomp/libseccomp unavailable: {exc}"
    try:
        flt: Any = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in _DENIED_SYSCALLS:
            try:
                flt.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (RuntimeError, ValueError, OSError):
                continue  # a syscall this architecture does not have
        # Process creation via clone() unless it only makes a thread of this process.
        flt.add_rule(
            seccomp.ERRNO(errno.EPERM),
            "clone",
            seccomp.Arg(0, seccomp.MASKED_EQ, _CLONE_THREAD, 0),
        )
        # clone3 passes its flags in memory a filter cannot read: refuse it, so libc falls
        # back to clone(), which the rule above inspects.
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        flt.load()
    except Exception as exc:
        return f"seccomp filter failed to load: {exc}"
    return None


def apply_confinement(*, max_memory_mb: int, seccomp: bool) -> dict[str, Any]:
    """Apply every limit available here; returns what was and was not enforced."""
    report: dict[str, Any] = {"rlimits": _resource_limits(max_memory_mb), "seccomp": False}
    if seccomp:
        problem = _seccomp()
        if problem is None:
            report["seccomp"] = True
        else:
            report["seccomp_problem"] = problem
            log.warning("codemode worker runs without a syscall filter: %s", problem)
    return report
