from . import env_gate_manual_entry
from . import env_gate_verify
from . import env_gate_lane_token
from . import env_gate_transport_report
from . import env_gate_lane_lift
from . import env_gate_upload_resend
