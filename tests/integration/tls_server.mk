# tls_server tests: see the scripts listed here.
