"""The `.flow` rule language: parser, transformer to the engine's model, formatter, CLI."""
