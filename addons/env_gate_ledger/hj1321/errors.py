"""One error type for every rule of the regulation, with a stable code and both languages.

Guards read Chinese, some auditors and integrators read English; the gate box and the ERP
report the same `code` so logs, HTTP replies and forms can be matched to one rule.
"""


class Hj1321Error(ValueError):
    """A value breaks an HJ 1321 rule; `code` is stable, the messages are for people.

    `params` keeps the values the messages were built from (the bad value, the field, the
    table...) so a caller can build its own text or log them as structured data.
    """

    def __init__(self, code, message_zh, message_en, **params):
        super(Hj1321Error, self).__init__(code, message_zh, message_en)
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
        return 'Hj1321Error(%r, %r)' % (self.code, self.message_en)
