"""Framework implementations of the registered models, one package per framework family."""
