"""Helpers shared by the gate-box tests: real pseudo-terminals and polling for a thread."""
import contextlib
import os
import time
import tty


@contextlib.contextmanager
def pty_pair():
    """(master fd, slave path): raw mode, so no echo or CR translation before pyserial
    opens the slave. The slave fd stays open so the line does not hang up."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        for fd in (master, slave):
            try:
                os.close(fd)
            except OSError:
                pass


def wait_until(predicate, timeout=5.0):
    """True as soon as predicate() is; its last answer after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
