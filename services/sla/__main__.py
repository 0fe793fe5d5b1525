import sys

if sys.argv[1:2] == ["migrate-clocks"]:
    from services.sla.adapters.migration import main as migrate_clocks

    sys.exit(migrate_clocks(sys.argv[2:]))

from services.sla.main import main

main()
