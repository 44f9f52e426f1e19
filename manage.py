#!/usr/bin/env python
import sys

from nguon.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
