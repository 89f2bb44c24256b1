"""Payloads the box could not use, kept on disk with the reason, for a person to look at.

A camera body that does not parse, a push from an unknown camera, an image without a QR
code: the listener answers 4xx and hands the raw body to `Quarantine.keep`, which writes
two files into the quarantine directory:

    20261128T001530.123456Z-alarminfoplate-3f2a9c1e.bin    the body, byte for byte
    20261128T001530.123456Z-alarminfoplate-3f2a9c1e.json   why: {received_at, endpoint,
        code, message_en, message_zh, remote_addr, content_type, bytes, sha256, params}

The body is written first and the sidecar last, each through a temporary name, so a
sidecar always describes a complete body. Names sort by time. When more than `max_files`
payloads are kept the oldest go, so a camera stuck sending garbage cannot fill the disk.
Headers are never kept (an Authorization header holds a token). Thread-safe.
Standard library only.
"""
import datetime
import hashlib
import json
import os
import re
import threading

_NAME = re.compile(r'\A[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[a-z0-9_]+-[0-9a-f]{8}\.json\Z')


class Quarantine(object):
    """The quarantine directory `path` (created when missing)."""

    def __init__(self, path, max_files=10000, clock=None):
        self.path = path
        self.max_files = max(1, int(max_files))
        self._clock = clock or datetime.datetime.utcnow
        self._lock = threading.Lock()
        os.makedirs(path, exist_ok=True)
        self._count = len(self._sidecars())
        self.last = None

    def _sidecars(self):
        return sorted(name for name in os.listdir(self.path) if _NAME.match(name))

    def keep(self, endpoint, body, code, message_en, message_zh, remote_addr=None,
             content_type=None, **params):
        """Store one payload; returns the sidecar dict (with 'file', the body's name)."""
        body = bytes(body or b'')
        now = self._clock()
        digest = hashlib.sha256(body).hexdigest()
        kind = re.sub(r'[^a-z0-9_]', '_', (endpoint or 'unknown').lower())[:32] or 'unknown'
        stem = '%s-%s-%s' % (now.strftime('%Y%m%dT%H%M%S.%fZ'), kind, digest[:8])
        info = {'received_at': now.isoformat() + 'Z', 'endpoint': endpoint, 'code': code,
                'message_en': message_en, 'message_zh': message_zh,
                'remote_addr': remote_addr, 'content_type': content_type,
                'bytes': len(body), 'sha256': digest, 'file': stem + '.bin',
                'params': _jsonable(params)}
        with self._lock:
            _write(os.path.join(self.path, stem + '.bin'), body)
            _write(os.path.join(self.path, stem + '.json'),
                   json.dumps(info, ensure_ascii=False, indent=1).encode('utf-8'))
            self._count += 1
            self.last = info
            if self._count > self.max_files:
                self._prune()
        return info

    def _prune(self):
        names = self._sidecars()
        for name in names[:max(0, len(names) - self.max_files)]:
            for path in (name, name[:-5] + '.bin'):
                try:
                    os.remove(os.path.join(self.path, path))
                except OSError:
                    pass
        self._count = min(len(names), self.max_files)

    def count(self):
        """How many payloads are kept."""
        return self._count

    def recent(self, limit=20):
        """The newest sidecars, newest first."""
        out = []
        for name in reversed(self._sidecars()[-limit:]):
            try:
                with open(os.path.join(self.path, name), encoding='utf-8') as handle:
                    out.append(json.load(handle))
            except (OSError, ValueError):
                continue
        return out


def _write(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as handle:
        handle.write(data)
    os.replace(tmp, path)


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:500]
