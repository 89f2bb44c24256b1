"""gatebox: the framework-free gate box (cameras, QR codes, scales, barriers); no Odoo import."""
