"""One module per ``payroute`` verb (see :mod:`dsl.cli`)."""
