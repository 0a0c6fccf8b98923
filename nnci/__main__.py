from nnci.cli import main

raise SystemExit(main())
