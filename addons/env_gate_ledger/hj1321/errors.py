"""One error type for every rule of the regulation, with a stable code and both languages.

Guards read Chinese, some auditors and integrators read English; the gate box and the ERP
report the same `code` so logs, HTTP replies and forms can be matched to one rule.
"""


class BilingualError(ValueError):
    """An error with a stable `code` and messages in Chinese and English.

    `params` keeps the values the messages were built from (the bad value, the field, the
    table...) so a caller can build its own text or log them as structured data. The gate
    box's errors (payloads, configuration, cache, QR, weighbridge) derive from it too.
    """

    def __init__(self, code, message_zh, message_en, **params):
        super(BilingualError, self).__init__(code, message_zh, message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.params = params

    def message(self, lang='en_US'):
        """The message in `lang`: Chinese for any 'zh*' language, English otherwise."""
        return self.message_zh if (lang or '').startswith('zh') else self.message_en

    def __str__(self):
        return '%s / %s' % (self.message_en, self.message_zh)

    def __repr__(self):
        return '%s(%r, %r)' % (type(self).__name__, self.code, self.message_en)


class Hj1321Error(BilingualError):
    """A value breaks an HJ 1321 rule; `code` is stable, the messages are for people."""
