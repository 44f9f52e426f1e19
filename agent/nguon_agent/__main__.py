from nguon_agent.cli import main

raise SystemExit(main())
