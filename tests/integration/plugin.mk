# The plugin author's view of libherald (owner: plugin-kit): what the shared
# library exports and links.  plugins/local.mk runs the same checks against
# the installed files in "make installcheck".
dist_check_SCRIPTS += tests/integration/lib_symbols.sh
TESTS += tests/integration/lib_symbols.sh

# The operations-table rule through the CLI, with the test modules of
# tests/unit/registry.mk (built for make check only, so not in installcheck).
dist_check_SCRIPTS += tests/integration/module_abi.sh
TESTS += tests/integration/module_abi.sh

# The plugin author's path against a private install of the build tree
# (make install DESTDIR=tmp); plugins/local.mk runs it on the real install.
dist_check_SCRIPTS += tests/integration/plugin_out_of_tree.sh
TESTS += tests/integration/plugin_out_of_tree.sh

# The route guard: strategies that never answer, answer twice, answer empty.
dist_check_SCRIPTS += tests/integration/route_guard.sh
TESTS += tests/integration/route_guard.sh

# Every herald command a document shows exists (herald WORD --help).
dist_check_SCRIPTS += tests/integration/doc_commands.sh
TESTS += tests/integration/doc_commands.sh
