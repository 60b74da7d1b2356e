"""KafkaError and KafkaException, with confluent-kafka's codes and behaviour."""

from ._codes import CODES

_NAMES = {code: name for code, name, _ in CODES}
_DESCRIPTIONS = {code: text for code, _, text in CODES}


class KafkaError:
    """An error: a code (librdkafka's numbering: negative codes are local, positive codes the
    broker's), a human-readable reason and three flags."""

    __slots__ = ("_code", "_reason", "_fatal", "_retriable", "_txn_requires_abort")

    def __init__(self, error, reason=None, fatal=False, retriable=False, txn_requires_abort=False):
        self._code = int(error)
        self._reason = reason if reason else _DESCRIPTIONS.get(self._code, "Err-%d?" % self._code)
        self._fatal = bool(fatal)
        self._retriable = bool(retriable)
        self._txn_requires_abort = bool(txn_requires_abort)

    def code(self):
        return self._code

    def name(self):
        return _NAMES.get(self._code, "ERR_%d?" % self._code)

    def str(self):
        return self._reason

    def fatal(self):
        return self._fatal

    def retriable(self):
        return self._retriable

    def txn_requires_abort(self):
        return self._txn_requires_abort

    def __str__(self):
        return 'KafkaError{%scode=%s,val=%d,str="%s"}' % (
            "FATAL," if self._fatal else "", self.name(), self._code, self._reason)

    __repr__ = __str__

    def __bool__(self):
        return self._code != 0

    def __hash__(self):
        return hash(self._code)

    def _other(self, other):
        if isinstance(other, KafkaError):
            return other._code
        return other

    def __eq__(self, other):
        return self._code == self._other(other)

    def __ne__(self, other):
        return self._code != self._other(other)

    def __lt__(self, other):
        return self._code < self._other(other)

    def __le__(self, other):
        return self._code <= self._other(other)

    def __gt__(self, other):
        return self._code > self._other(other)

    def __ge__(self, other):
        return self._code >= self._other(other)

    def __reduce__(self):
        return (KafkaError, (self._code, self._reason, self._fatal, self._retriable, self._txn_requires_abort))


for _code, _name, _ in CODES:
    setattr(KafkaError, _name, _code)
del _code, _name


class KafkaException(Exception):
    """Raised by client calls; ``args[0]`` is the ``KafkaError``."""

    def __init__(self, *args, **kwargs):
        if not args and "error" in kwargs:
            args = (kwargs.pop("error"),)
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            args = (KafkaError(args[0], *args[1:2]),) + tuple(args[2:])
        super().__init__(*args)

    def __str__(self):
        return str(self.args[0]) if self.args else ""
