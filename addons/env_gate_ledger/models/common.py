"""Glue between the framework-free hj1321 core and Odoo fields and errors."""
from odoo.exceptions import ValidationError
from odoo.osv import expression

from ..hj1321 import codes, grades


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


def replacement_due_domain(env, kind, due=True, scope=()):
    """Search domain of `replacement_due` on the register of `kind` ('in_plant' or
    'machinery'): records below the rules of their company's target grade (hj1321.grades),
    as stored stages and fuels, so the filter and the computed field agree. `due`: False
    for the records not due; `scope`: a domain only records within which can be due
    (in-plant vehicles for the vehicle register)."""
    by_grade = {}
    for company in env['res.company'].sudo().search([]):
        by_grade.setdefault(company.env_gate_target_grade or 'A', []).append(company.id)
    parts = []
    for grade, company_ids in sorted(by_grade.items()):
        stages = grades.accepted_stages(grade, kind)
        if stages is not None:
            parts.append(expression.normalize_domain(list(scope) + [
                ('company_id', 'in', company_ids), ('emission_stage', 'not in', sorted(stages)),
                ('fuel_type', 'not in', sorted(codes.NEW_ENERGY_FUELS))]))
    domain = expression.OR(parts) if parts else expression.FALSE_DOMAIN
    return domain if due else ['!'] + domain
