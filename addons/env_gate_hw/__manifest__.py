{
    'name': 'Environmental Gate Box (HJ 1321)',
    'summary': 'Gate box beside the barrier: plate cameras, weighbridge, barrier, QR codes, '
               'local decisions and a durable outbox to the env_gate ERP; runs without a '
               'database',
    'version': '11.0.1.0.0',
    'category': 'Operations/Environment',
    'author': 'env_gate',
    'license': 'LGPL-3',
    'depends': ['web', 'hw_proxy'],
    'external_dependencies': {'python': ['requests', 'serial', 'PIL', 'pyzbar']},
    'post_load': 'post_load',
    'installable': True,
    'auto_install': False,
}
