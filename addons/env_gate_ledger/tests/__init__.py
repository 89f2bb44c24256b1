from . import test_vehicle
from . import test_ingest
from . import test_manual_entry
from . import test_chain
from . import test_access
from . import test_weighing
from . import test_clean_transport
