"""The language verbs, one module each (listed in :data:`web.cli.VERBS`; shared names in :mod:`dsl.verbs`)."""
