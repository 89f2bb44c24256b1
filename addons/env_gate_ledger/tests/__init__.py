from . import test_vehicle
from . import test_ingest
from . import test_manual_entry
from . import test_chain
from . import test_access
