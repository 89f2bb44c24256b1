"""Glue between the framework-free hj1321 core and Odoo fields and errors."""
from odoo.exceptions import ValidationError

from ..hj1321 import codes


def code_selection(table):
    """Selection values of an HJ 1321 code table, labelled in the user's language.

    The tables live in hj1321/codes/*.csv, so the gate box, the regulator adapters and
    the ERP read the same codes and nobody hard-codes them in a view.
    """
    def _selection(model):
        return codes.selection(table, model.env.context.get('lang') or 'en_US')
    return _selection


def bilingual(message_zh, message_en, lang=None):
    """Both languages, the user's first: a guard and an auditor may read different ones."""
    if lang and not lang.startswith('zh'):
        return '%s\n%s' % (message_en, message_zh)
    return '%s\n%s' % (message_zh, message_en)


def validation_error(exc, env):
    """Turn an hj1321 error into the Odoo error a form shows."""
    return ValidationError(bilingual(exc.message_zh, exc.message_en, env.context.get('lang')))
