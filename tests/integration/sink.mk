# sink tests: see the scripts listed here.
